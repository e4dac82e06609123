package httpmw_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/httpmw"
)

var okBody = []byte("ok")

func bareHandler(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(okBody) }

// fullStack is the whole server middleware: header tenant, in-memory
// budget reserve and settle, a chaos injector with no fault, SLIs on the
// real OpenTelemetry SDK.
func fullStack(b *testing.B) http.Handler {
	m := newMetrics(b)
	enf, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(budget.MaxAmount))
	if err != nil {
		b.Fatal(err)
	}
	in, err := chaos.New()
	if err != nil {
		b.Fatal(err)
	}
	h, err := httpmw.NewHandler(http.HandlerFunc(bareHandler),
		httpmw.WithRecorder(m.rec), httpmw.WithChaos(in),
		httpmw.WithTenant(httpmw.HeaderTenant("")),
		httpmw.WithBudget(enf, httpmw.FixedEstimate(1000)), httpmw.WithDownshiftModel("gpt-4o-mini"))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// discardWriter is a reusable ResponseWriter, so the benchmark measures the
// middleware rather than httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchServe(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/agent", nil)
		r.Header.Set("X-Tenant-ID", fmt.Sprintf("tenant-%d", id.Add(1)))
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkMiddleware compares the bare handler with the full stack; the
// difference is the middleware's added cost per request.
func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchServe(b, http.HandlerFunc(bareHandler)) })
	b.Run("full", func(b *testing.B) { benchServe(b, fullStack(b)) })
	b.Run("full/serial", func(b *testing.B) {
		h := fullStack(b)
		r := httptest.NewRequest(http.MethodGet, "/agent", nil)
		r.Header.Set("X-Tenant-ID", "acme")
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

// staticTransport answers every request with the same in-memory response:
// the base transport of the Transport benchmarks.
type staticTransport struct {
	body        []byte
	contentType string
}

func (s *staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {s.contentType}},
		Body:          io.NopCloser(bytes.NewReader(s.body)),
		ContentLength: int64(len(s.body)),
		Request:       r,
	}, nil
}

func jsonResponse2KB() []byte {
	content := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)[:1700]
	return fmt.Appendf(nil, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}}`, content)
}

func sseResponse(chunks int) []byte {
	var b bytes.Buffer
	for i := range chunks {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", i)
	}
	b.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500,\"prompt_tokens_details\":{\"cached_tokens\":200}}}\n\ndata: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkTransport compares a chat completion through the base transport
// alone with the same call through the Transport (task, rate card, SLIs on
// the real SDK, chaos injector with no fault); the caller reads the whole
// body in 4 KiB reads, as the SDK's decoders do.
func BenchmarkTransport(b *testing.B) {
	cases := []struct {
		name   string
		body   []byte
		ctype  string
		stream bool
	}{
		{"json2KB", jsonResponse2KB(), "application/json", false},
		{"sse200", sseResponse(200), "text/event-stream", true},
	}
	for _, c := range cases {
		base := &staticTransport{body: c.body, contentType: c.ctype}
		reqBody := []byte(chatBody("gpt-4o", c.stream))
		run := func(b *testing.B, rt http.RoundTripper) {
			m := newMetrics(b)
			_ = m
			ctx, _ := httpmw.StartTask(context.Background(), "acme", nil)
			buf := make([]byte, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://model.test/v1/chat/completions", bytes.NewReader(reqBody))
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
			}
		}
		b.Run(c.name+"/base", func(b *testing.B) { run(b, base) })
		b.Run(c.name+"/transport", func(b *testing.B) {
			m := newMetrics(b)
			in, _ := chaos.New()
			tr, err := httpmw.NewTransport(base, httpmw.WithRecorder(m.rec), httpmw.WithChaos(in))
			if err != nil {
				b.Fatal(err)
			}
			run(b, tr)
		})
	}
}
