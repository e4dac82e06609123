package httpmw

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want tokens
		ok   bool
	}{
		{"basic", `{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}`, tokens{input: 12, output: 34}, true},
		{"cached", `{"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":60,"audio_tokens":0}}`, tokens{100, 60, 5}, true},
		{"cached above input clamped", `{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":60}}`, tokens{10, 10, 5}, true},
		{"details null", `{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":null}`, tokens{input: 1, output: 2}, true},
		{"spaces", " { \"prompt_tokens\" : 7 ,\n\"completion_tokens\":\t8 } ", tokens{input: 7, output: 8}, true},
		{"only output", `{"completion_tokens":3}`, tokens{output: 3}, true},
		{"null", `null`, tokens{}, false},
		{"empty object", `{}`, tokens{}, false},
		{"negative", `{"prompt_tokens":-1,"completion_tokens":2}`, tokens{}, false},
		{"float", `{"prompt_tokens":1.5,"completion_tokens":2}`, tokens{}, false},
		{"string", `{"prompt_tokens":"1","completion_tokens":2}`, tokens{}, false},
		{"leading zero", `{"prompt_tokens":01,"completion_tokens":2}`, tokens{}, false},
		{"huge", `{"prompt_tokens":1234567890123456789012,"completion_tokens":2}`, tokens{}, false},
		{"truncated", `{"prompt_tokens":1,"completion_tokens":2`, tokens{}, false},
		{"trailing", `{"prompt_tokens":1,"completion_tokens":2} x`, tokens{}, false},
		{"bad details", `{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":"x"}}`, tokens{}, false},
		{"nested key ignored", `{"x":{"prompt_tokens":9},"completion_tokens":2}`, tokens{output: 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseUsage([]byte(tt.raw))
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseUsage(%s) = %+v, %v; want %+v, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// readAllIn reads body through a usageReader, handing it over in pieces of
// the given sizes (cycled), and returns the bytes the caller saw and the
// result.
func readAllIn(t testing.TB, body []byte, sse bool, sizes []int) ([]byte, usageResult, int) {
	var res usageResult
	calls := 0
	r := newUsageReader(io.NopCloser(&chunkReader{b: body, sizes: sizes}), sse, func(u usageResult) { res = u; calls++ })
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return got, res, calls
}

// chunkReader returns b in reads of the given sizes.
type chunkReader struct {
	b     []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(c.b)
	if len(c.sizes) > 0 {
		n = max(c.sizes[c.i%len(c.sizes)], 1)
		c.i++
	}
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

const chatJSON = `{
  "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "He said \"usage\": {\"prompt_tokens\": 999} \\"}, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 3}}
}`

func sseChunk(content string) string {
	c, _ := json.Marshal(content)
	return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":` + string(c) + `},"finish_reason":null}],"usage":null}` + "\n\n"
}

func sseStream(n int, usage bool) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(sseChunk("token " + strings.Repeat("x", i%7) + ` "prompt_tokens": 5`))
	}
	if usage {
		b.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":200,"total_tokens":320,"prompt_tokens_details":{"cached_tokens":20}}}` + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func TestUsageReader(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		sse   bool
		found bool
		want  tokens
		model string
	}{
		{"json", chatJSON, false, true, tokens{19, 3, 10}, "gpt-4o-mini-2024-07-18"},
		{"json without usage", `{"id":"x","model":"m","choices":[]}`, false, false, tokens{}, "m"},
		{"json usage null", `{"model":"m","usage":null}`, false, false, tokens{}, "m"},
		{"json truncated", chatJSON[:len(chatJSON)-3], false, false, tokens{}, ""},
		{"json error body", `{"error":{"message":"bad"}}`, false, false, tokens{}, ""},
		{"sse", sseStream(20, true), true, true, tokens{120, 20, 200}, "gpt-4o-2024-08-06"},
		{"sse crlf", strings.ReplaceAll(sseStream(3, true), "\n", "\r\n"), true, true, tokens{120, 20, 200}, "gpt-4o-2024-08-06"},
		{"sse without usage", sseStream(20, false), true, false, tokens{}, ""},
		{"sse no space after colon", "data:{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n", true, true, tokens{input: 1, output: 2}, "m"},
		{"sse last line unterminated", "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", true, true, tokens{input: 1, output: 2}, ""},
		{"sse last usage wins", "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\ndata: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n", true, true, tokens{input: 3, output: 4}, ""},
		{"sse comment and event lines", ": keep-alive\nevent: message\ndata: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n", true, true, tokens{input: 1, output: 2}, ""},
		{"sse usage before the last data event", "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\ndata: {\"choices\":[]}\n", true, false, tokens{}, ""},
		{"sse done and blank lines after usage", "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n: bye\n\ndata: [DONE]\n\n\n", true, true, tokens{input: 1, output: 2}, ""},
		{"sse usage in content only", sseChunk(`{"usage":{"prompt_tokens":1,"completion_tokens":2}}`), true, false, tokens{}, ""},
	}
	splits := [][]int{nil, {1}, {2, 3}, {7}, {64}, {1000}}
	for _, tt := range tests {
		for _, sz := range splits {
			t.Run(tt.name, func(t *testing.T) {
				seen, res, calls := readAllIn(t, []byte(tt.body), tt.sse, sz)
				if !bytes.Equal(seen, []byte(tt.body)) {
					t.Fatalf("the caller saw different bytes")
				}
				if calls != 1 {
					t.Fatalf("finish called %d times", calls)
				}
				if res.found != tt.found || res.tokens != tt.want || (tt.found && res.model != tt.model) || !res.complete {
					t.Fatalf("sizes %v: got %+v; want found=%v %+v model %q", sz, res, tt.found, tt.want, tt.model)
				}
			})
		}
	}
}

func TestUsageReaderLongLines(t *testing.T) {
	usage := "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}\n"
	long := "data: {\"x\":\"" + strings.Repeat("a", maxSSELine) + "\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n"
	longComment := ": " + strings.Repeat("a", maxSSELine) + "\n"
	mid := "data: {\"x\":\"" + strings.Repeat("b", 3000) + "\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":8}}\n\n"
	tests := []struct {
		name  string
		body  string
		found bool
		want  tokens
	}{
		{"long line then usage", long + usage, true, tokens{input: 5, output: 6}},
		{"usage then a long data line", usage + long, false, tokens{}},
		{"usage then a long comment", usage + longComment, true, tokens{input: 5, output: 6}},
		{"long last line", sseStream(3, false) + mid + "data: [DONE]\n\n", true, tokens{input: 7, output: 8}},
	}
	for _, tt := range tests {
		for _, sz := range [][]int{{4096}, {100000}, nil} {
			t.Run(tt.name, func(t *testing.T) {
				_, res, _ := readAllIn(t, []byte(tt.body), true, sz)
				if res.found != tt.found || res.tokens != tt.want {
					t.Fatalf("sizes %v: got %+v", sz, res)
				}
			})
		}
	}
}

func TestUsageReaderCloseEarly(t *testing.T) {
	body := sseStream(5, true)
	var res usageResult
	calls := 0
	r := newUsageReader(io.NopCloser(strings.NewReader(body)), true, func(u usageResult) { res = u; calls++ })
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	_ = r.Close()
	if calls != 1 || res.found || res.complete {
		t.Fatalf("calls %d, result %+v", calls, res)
	}
}

func TestRewriteChat(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		model     string
		wantUsage bool
		want      string
		info      chatBody
	}{
		{"no change", `{"model":"gpt-4o","messages":[]}`, "", true, `{"model":"gpt-4o","messages":[]}`, chatBody{model: "gpt-4o"}},
		{"model", `{"messages":[{"role":"user","content":"\"model\":\"x\""}], "model" : "gpt-4o" }`, "gpt-4o-mini", true,
			`{"messages":[{"role":"user","content":"\"model\":\"x\""}], "model" : "gpt-4o-mini" }`, chatBody{model: "gpt-4o"}},
		{"same model", `{"model":"gpt-4o"}`, "gpt-4o", true, `{"model":"gpt-4o"}`, chatBody{model: "gpt-4o"}},
		{"stream adds options", `{"model":"a","stream":true}`, "", true, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, chatBody{"a", true}},
		{"stream and model", `{"model":"a","stream":true,"n":1}`, "b", true, `{"model":"b","stream":true,"n":1,"stream_options":{"include_usage":true}}`, chatBody{"a", true}},
		{"stream options null", `{"model":"a","stream_options":null,"stream":true}`, "", true, `{"model":"a","stream_options":{"include_usage":true},"stream":true}`, chatBody{"a", true}},
		{"stream options empty", `{"model":"a","stream":true,"stream_options":{ }}`, "", true, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, chatBody{"a", true}},
		{"stream options other", `{"model":"a","stream":true,"stream_options":{"x":1}}`, "", true, `{"model":"a","stream":true,"stream_options":{"include_usage":true,"x":1}}`, chatBody{"a", true}},
		{"include usage false", `{"model":"a","stream":true,"stream_options":{"include_usage":false}}`, "", true, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, chatBody{"a", true}},
		{"include usage true", `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, "", true, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, chatBody{"a", true}},
		{"not streaming", `{"model":"a","stream":false}`, "", true, `{"model":"a","stream":false}`, chatBody{model: "a"}},
		{"usage not wanted", `{"model":"a","stream":true}`, "", false, `{"model":"a","stream":true}`, chatBody{"a", true}},
		{"invalid json untouched", `{"model":"a","stream":true`, "b", true, `{"model":"a","stream":true`, chatBody{}},
		{"array untouched", `[{"model":"a"}]`, "b", true, `[{"model":"a"}]`, chatBody{}},
		{"escaped model name kept", `{"model":"a\u0062"}`, "b", true, `{"model":"a\u0062"}`, chatBody{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, info := rewriteChat([]byte(tt.body), tt.model, tt.wantUsage)
			if string(got) != tt.want || info != tt.info {
				t.Fatalf("got %s %+v\nwant %s %+v", got, info, tt.want, tt.info)
			}
			if json.Valid([]byte(tt.body)) && !json.Valid(got) {
				t.Fatalf("rewrite produced invalid JSON: %s", got)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		path string
		kind endpoint
		dep  string
	}{
		{"/v1/chat/completions", endpointOpenAI, ""},
		{"/api/openai/v1/chat/completions", endpointOpenAI, ""},
		{"/openai/deployments/prod-4o/chat/completions", endpointAzure, "prod-4o"},
		{"/x/openai/deployments/d1/chat/completions", endpointAzure, "d1"},
		{"/openai/deployments//chat/completions", endpointOpenAI, ""},
		{"/v1/embeddings", endpointOther, ""},
		{"/v1/chat/completions/abc", endpointOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			kind, dep, at := classify(tt.path)
			if kind != tt.kind || dep != tt.dep {
				t.Fatalf("classify = %v %q", kind, dep)
			}
			if kind == endpointAzure && tt.path[at:at+len(dep)] != dep {
				t.Fatalf("offset %d wrong", at)
			}
		})
	}
}
