package simmodel_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/examples/agent/internal/simmodel"
)

// The seeds of FuzzServeChat: requests the agent sends, and bodies that are
// not.
var chatSeeds = []string{
	`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count primes up to 1000"}],"tools":[{"type":"function","function":{"name":"compute_primes","parameters":{}}}]}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"Tell me a fact about Paris"}],"tools":[{"type":"function","function":{"name":"lookup_fact"}},{"type":"function","function":{"name":"web_search"}}]}`,
	`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"weather in Paris today"}],"tools":[{"type":"function","function":{"name":"web_search"}}]}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"primes?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"compute_primes","arguments":"{\"limit\":100}"}}]},{"role":"tool","tool_call_id":"c1","content":"{\"answer\":\"There are 25 primes up to 100.\"}"}]}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hello "},{"type":"text","text":"there"},{"type":"image_url"}]}]}`,
	`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tool: compute_primes\nJSON Schema of its arguments:\n{\"type\":\"object\",\"properties\":{\"limit\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":1000000}},\"required\":[\"limit\"]}\nArguments to correct:\n{\"limit\":\"100\"}\nReply with the corrected JSON object only."}]}`,
	`{"model":"m","messages":[{"role":"user","content":"Tool: t\nJSON Schema of its arguments:\n{\"properties\":{\"q\":{\"type\":\"string\",\"maxLength\":-1}},\"required\":[\"q\"]}\nArguments to correct:\n{\"q\":\"abc\"}"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"Tool: t\nJSON Schema of its arguments:\n{\"properties\":{\"x\":{\"type\":\"number\"}}}\nArguments to correct:\n{'x': 1e999,}"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"Tool: t\nArguments to correct:\n\"{\\\"a\\\":1e999}\" {\"b\":2"}]}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]} trailing`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"model":""}`,
	`{"MODEL":"gpt-4o","Messages":[{"ROLE":"user","content":"hi"}]}`,
	`{"model":"","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"gpt-4o","messages":[]}`,
	`{"model":"gpt-4o","messages":null}`,
	`{"model":"gpt-4o","messages":[null]}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[null],"stream_options":null}`,
	`{"model":1,"messages":"x"}`,
	"{\"model\":\"\xff\",\"messages\":[{\"role\":\"user\",\"content\":\"\xfe\"}]}",
	`null`, `[]`, `{}`, ``, `{`, `"x"`,
}

// errorBody is an OpenAI-style error.
type errorBody struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   any     `json:"param"`
		Code    any     `json:"code"`
	} `json:"error"`
}

// completion is a chat.completion or chat.completion.chunk.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int      `json:"index"`
		Message      *message `json:"message"`
		Delta        *message `json:"delta"`
		FinishReason *string  `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		TotalTokens      int64 `json:"total_tokens"`
	} `json:"usage"`
}

// toolCall is one tool call of a reply, or of a stream chunk's delta.
type toolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type message struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	ToolCalls []toolCall `json:"tool_calls"`
}

// request is what the server is documented to read from a request, decoded
// the same lenient way (encoding/json, first value).
type request struct {
	Model         string            `json:"model"`
	Messages      []json.RawMessage `json:"messages"`
	Tools         []json.RawMessage `json:"tools"`
	Stream        bool              `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// FuzzServeChat posts arbitrary bodies (and now and then another method)
// to the handler in-process. Every answer must be a JSON error with status
// 400, 405 or 413, or a 200 chat completion (an SSE stream when the request
// asks for one) whose model is the request's, whose choice is consistent
// (finish reason, content or well-formed tool calls), whose usage adds up,
// and, for a request to correct tool arguments, whose content is a JSON
// object.
func FuzzServeChat(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add(uint8(0), []byte(s))
	}
	f.Add(uint8(3), []byte(chatSeeds[0]))
	srv, err := simmodel.New()
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, method uint8, body []byte) {
		m := http.MethodPost
		if method%4 == 3 {
			m = []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch}[int(method/4)%4]
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/v1/chat/completions", bytes.NewReader(body)))
		checkResponse(t, m, body, rec)
	})
}

func checkResponse(t *testing.T, method string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	b := rec.Body.Bytes()
	switch rec.Code {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
		var e errorBody
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Message == nil || *e.Error.Message == "" ||
			e.Error.Type == nil || *e.Error.Type != "invalid_request_error" || e.Error.Param != nil || e.Error.Code != nil {
			t.Fatalf("status %d with body %s (%v)", rec.Code, b, err)
		}
		if (rec.Code == http.StatusMethodNotAllowed) != (method != http.MethodPost) {
			t.Fatalf("%s answered %d", method, rec.Code)
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
			t.Fatalf("405 with Allow %q", rec.Header().Get("Allow"))
		}
		return
	default:
		t.Fatalf("status %d, body %s", rec.Code, b)
	}
	var req request
	if method != http.MethodPost || json.NewDecoder(bytes.NewReader(body)).Decode(&req) != nil ||
		req.Model == "" || len(req.Messages) == 0 {
		t.Fatalf("200 for %s %q", method, body)
	}
	if req.Stream {
		checkStream(t, &req, rec)
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var c completion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "chatcmpl-sim") || c.Model != req.Model ||
		rec.Header().Get("X-Request-Id") != c.ID || len(c.Choices) != 1 || c.Choices[0].Index != 0 ||
		c.Choices[0].Message == nil || c.Choices[0].Message.Role != "assistant" || c.Choices[0].FinishReason == nil {
		t.Fatalf("completion %s for model %q", b, req.Model)
	}
	msg, finish := c.Choices[0].Message, *c.Choices[0].FinishReason
	checkMessage(t, &req, finish, msg.Content, msg.ToolCalls, b)
	checkUsage(t, c.Usage, b)
}

// checkMessage checks a reply: finish reason "stop" with content, or
// "tool_calls" with named calls whose arguments are JSON objects.
func checkMessage(t *testing.T, req *request, finish string, content *string, calls []toolCall, b []byte) {
	t.Helper()
	switch finish {
	case "stop":
		if content == nil || len(calls) != 0 {
			t.Fatalf("finish stop: %s", b)
		}
		if repairRequest(req) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(*content), &obj); err != nil || obj == nil {
				t.Fatalf("repair answer %q is not a JSON object: %v", *content, err)
			}
		}
	case "tool_calls":
		if len(calls) == 0 || len(req.Tools) == 0 {
			t.Fatalf("finish tool_calls: %s", b)
		}
		for _, tc := range calls {
			var obj map[string]any
			if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" ||
				json.Unmarshal([]byte(tc.Function.Arguments), &obj) != nil || obj == nil {
				t.Fatalf("tool call %+v in %s", tc, b)
			}
		}
	default:
		t.Fatalf("finish reason %q", finish)
	}
}

// repairRequest reports whether req asks, in a plain-text last user
// message and with no tools, to correct tool arguments.
func repairRequest(req *request) bool {
	if len(req.Tools) != 0 {
		return false
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(req.Messages[i], &m) != nil || m.Role != "user" {
			continue
		}
		var text string
		if json.Unmarshal(m.Content, &text) != nil {
			return false
		}
		ti, ai := strings.Index(text, "Tool: "), strings.Index(text, "Arguments to correct:\n")
		return ti >= 0 && ai >= 0 && ti < ai
	}
	return false
}

func checkUsage(t *testing.T, u *struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}, b []byte) {
	t.Helper()
	if u == nil || u.PromptTokens < 4 || u.CompletionTokens < 1 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Fatalf("usage in %s", b)
	}
}

// checkStream parses an SSE answer: JSON chunks of one completion, the
// first with the assistant role, one with the finish reason, the usage
// chunk last when asked for, then [DONE]. It checks the reassembled reply
// like a plain one.
func checkStream(t *testing.T, req *request, rec *httptest.ResponseRecorder) {
	t.Helper()
	b := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream with Content-Type %q", ct)
	}
	events := strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n")
	if len(events) < 3 || events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("stream %q", b)
	}
	events = events[:len(events)-1]
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	var (
		id, finish string
		content    strings.Builder
		hasContent bool
		calls      []toolCall
	)
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		var c completion
		if !ok || json.Unmarshal([]byte(data), &c) != nil {
			t.Fatalf("event %d %q", i, ev)
		}
		if i == 0 {
			id = c.ID
		}
		if c.Object != "chat.completion.chunk" || c.ID != id || c.Model != req.Model {
			t.Fatalf("chunk %q for model %q", ev, req.Model)
		}
		if includeUsage && i == len(events)-1 {
			if len(c.Choices) != 0 {
				t.Fatalf("usage chunk %q has choices", ev)
			}
			checkUsage(t, c.Usage, []byte(data))
			continue
		}
		if c.Usage != nil || len(c.Choices) != 1 || c.Choices[0].Delta == nil || finish != "" {
			t.Fatalf("chunk %d %q (finish already %q)", i, ev, finish)
		}
		d := c.Choices[0].Delta
		if (i == 0) != (d.Role == "assistant") || (d.Role != "" && d.Role != "assistant") {
			t.Fatalf("chunk %d role %q", i, d.Role)
		}
		if fr := c.Choices[0].FinishReason; fr != nil {
			finish = *fr
		}
		if d.Content != nil {
			content.WriteString(*d.Content)
			hasContent = true
		}
		for _, tc := range d.ToolCalls {
			if tc.Index == nil || *tc.Index < 0 || *tc.Index > len(calls) {
				t.Fatalf("tool call delta %q", ev)
			}
			if *tc.Index == len(calls) {
				calls = append(calls, tc)
				continue
			}
			calls[*tc.Index].Function.Arguments += tc.Function.Arguments
		}
	}
	if finish == "" {
		t.Fatalf("no finish reason in %q", b)
	}
	var c *string
	if hasContent && len(calls) == 0 {
		s := content.String()
		c = &s
	}
	checkMessage(t, req, finish, c, calls, b)
}

// TestServeChatStatuses checks the statuses the fuzz test cannot reach
// cheaply: 413 past MaxBodyBytes.
func TestServeChatStatuses(t *testing.T) {
	srv, err := simmodel.New()
	if err != nil {
		t.Fatal(err)
	}
	big := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", simmodel.MaxBodyBytes) + `"}]}`
	for _, tt := range []struct {
		method, body string
		status       int
	}{
		{http.MethodPost, big, http.StatusRequestEntityTooLarge},
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, chatSeeds[0], http.StatusOK},
		{http.MethodPost, chatSeeds[2], http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, "/v1/chat/completions", strings.NewReader(tt.body)))
		if rec.Code != tt.status {
			t.Errorf("%s of %d bytes: status %d, want %d", tt.method, len(tt.body), rec.Code, tt.status)
		}
		checkResponse(t, tt.method, []byte(tt.body), rec)
	}
}
