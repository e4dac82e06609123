package httpmw

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func benchBody(b *testing.B, body []byte, sse bool) {
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := newUsageReader(io.NopCloser(bytes.NewReader(body)), sse, nil)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		if !r.res.found {
			b.Fatal("no usage")
		}
	}
}

// BenchmarkUsageReader measures the usage reader alone on the bodies of
// the Transport benchmarks (a 2 KB JSON response, a 200-chunk stream).
func BenchmarkUsageReader(b *testing.B) {
	content := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)[:1700]
	js := fmt.Appendf(nil, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}}`, content)
	b.Run("json2KB", func(b *testing.B) { benchBody(b, js, false) })
	b.Run("sse200", func(b *testing.B) { benchBody(b, []byte(sseStream(200, true)), true) })
}

func BenchmarkRewriteChat(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather in Paris today?"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		rewriteChat(body, "gpt-4o-mini", true)
	}
}
