package httpmw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/sli"
)

// Usage every fake provider response reports, and its price on testCard.
const (
	promptTokens = 1000
	cachedTokens = 200
	outputTokens = 500
	// 800 uncached input at 2.50, 200 cached at 1.25, 500 output at 10 USD/M.
	costGPT4o int64 = 2000 + 250 + 5000
	// The same at 0.15, 0.075 and 0.60 USD/M.
	costMini int64 = 120 + 15 + 300
)

func testCard(t testing.TB) *sli.RateCard {
	t.Helper()
	card, err := sli.NewRateCard("test-1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), map[string]sli.Price{
		"gpt-4o":      {Input: 2_500_000, CachedInput: 1_250_000, Output: 10_000_000},
		"gpt-4o-mini": {Input: 150_000, CachedInput: 75_000, Output: 600_000},
	})
	if err != nil {
		t.Fatal(err)
	}
	return card
}

// metrics is a Recorder whose metrics a test can read.
type metrics struct {
	rec    *sli.Recorder
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newMetrics(t testing.TB) *metrics {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec, err := sli.New(sli.WithMeterProvider(mp), sli.WithRateCard(testCard(t)))
	if err != nil {
		t.Fatal(err)
	}
	return &metrics{rec: rec, reader: reader, mp: mp}
}

// sum returns the total of a counter (or the count of a histogram) over the
// data points whose attributes include every key=value of attrs.
func (m *metrics) sum(t testing.TB, name string, attrs ...string) float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	match := func(set attribute.Set) bool {
		for i := 0; i+1 < len(attrs); i += 2 {
			if v, ok := set.Value(attribute.Key(attrs[i])); !ok || v.String() != attrs[i+1] {
				return false
			}
		}
		return true
	}
	var total float64
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name != name {
				continue
			}
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Value)
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += p.Value
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Count)
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += float64(p.Count)
					}
				}
			}
		}
	}
	return total
}

// seen is one request the fake provider received.
type seen struct {
	Path          string
	Model         string
	Stream        bool
	IncludeUsage  bool
	StreamOptions json.RawMessage
}

// provider is a loopback server speaking OpenAI chat completions, plain
// and SSE, with usage.
type provider struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []seen
	fail     []int // statuses to answer, in order, before succeeding
	noUsage  bool
	chunks   int
}

func newProvider(t testing.TB) *provider {
	t.Helper()
	p := &provider{chunks: 5}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) seen() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.requests...)
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model         string          `json:"model"`
		Stream        bool            `json:"stream"`
		StreamOptions json.RawMessage `json:"stream_options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	var so struct {
		IncludeUsage bool `json:"include_usage"`
	}
	_ = json.Unmarshal(body.StreamOptions, &so)
	p.mu.Lock()
	p.requests = append(p.requests, seen{r.URL.Path, body.Model, body.Stream, so.IncludeUsage, body.StreamOptions})
	var status int
	if len(p.fail) > 0 {
		status, p.fail = p.fail[0], p.fail[1:]
	}
	noUsage, chunks := p.noUsage, p.chunks
	p.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"message":"try later","type":"requests","code":"rate_limit_exceeded"}}`)
		return
	}
	model := body.Model
	if model == "" {
		model = "azure-model"
	}
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d}}`,
		promptTokens, outputTokens, promptTokens+outputTokens, cachedTokens)
	if !body.Stream {
		w.Header().Set("Content-Type", "application/json")
		u := `,"usage":` + usage
		if noUsage {
			u = ""
		}
		_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"usage\": {\"prompt_tokens\": 1}"},"finish_reason":"stop","logprobs":null}]%s}`, model+"-2024-08-06", u)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := http.NewResponseController(w)
	for i := range chunks {
		_, _ = fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"finish_reason\":null}],\"usage\":null}\n\n", model, i)
		_ = fl.Flush()
	}
	if so.IncludeUsage && !noUsage {
		_, _ = fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":%s}\n\n", model, usage)
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

// ctxStore is the in-memory store, failing like a networked store does
// when its context is done: settlement on a cancelled request context
// would be lost.
type ctxStore struct {
	*budget.Memory
	mu      sync.Mutex
	settles int
}

func (s *ctxStore) Reserve(ctx context.Context, a budget.ReserveArgs) (budget.ReserveResult, error) {
	if err := ctx.Err(); err != nil {
		return budget.ReserveResult{}, err
	}
	return s.Memory.Reserve(ctx, a)
}

func (s *ctxStore) Settle(ctx context.Context, a budget.SettleArgs) (budget.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.settles++
	s.mu.Unlock()
	return s.Memory.Settle(ctx, a)
}

func (s *ctxStore) settleCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settles
}

// failingStore fails every call, like a store whose backend is down.
type failingStore struct {
	mu    sync.Mutex
	calls int
}

var errDown = fmt.Errorf("connection refused")

func (s *failingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *failingStore) hit() {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
}

func (s *failingStore) Reserve(context.Context, budget.ReserveArgs) (budget.ReserveResult, error) {
	s.hit()
	return budget.ReserveResult{}, errDown
}

func (s *failingStore) Settle(context.Context, budget.SettleArgs) (budget.Outcome, error) {
	s.hit()
	return 0, errDown
}

func (s *failingStore) Release(context.Context, budget.SettleArgs) (budget.Outcome, error) {
	s.hit()
	return 0, errDown
}

func (s *failingStore) Usage(context.Context, budget.UsageArgs) (budget.Usage, error) {
	s.hit()
	return budget.Usage{}, errDown
}

var (
	_ budget.Store = (*ctxStore)(nil)
	_ budget.Store = (*failingStore)(nil)
)

// decodeError decodes a JSON error body.
func decodeError(t testing.TB, body io.Reader) map[string]any {
	t.Helper()
	var v struct {
		Error map[string]any `json:"error"`
	}
	if err := json.NewDecoder(body).Decode(&v); err != nil {
		t.Fatalf("error body: %v", err)
	}
	return v.Error
}

func chatBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
}

func newMemory() *budget.Memory { return budget.NewMemory() }
