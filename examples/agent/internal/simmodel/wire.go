package simmodel

import (
	"encoding/json"
	"net/http"
	"strings"
)

// chatRequest is the part of an OpenAI chat completion request the
// simulation reads. Unknown fields are ignored, as providers do.
type chatRequest struct {
	Model         string    `json:"model"`
	Messages      []message `json:"messages"`
	Tools         []tool    `json:"tools"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// text returns the message's text: a string content, or the text parts of
// an array content.
func (m message) text() string {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// reply is what the model says, before encoding.
type reply struct {
	id        string
	created   int64
	model     string
	content   string
	toolCalls []toolCall
	usage     usage
}

type toolCall struct {
	id, name, arguments string
}

type toolResult struct {
	id, content string
}

type usage struct {
	prompt, completion int64
}

func (r *reply) finishReason() string {
	if len(r.toolCalls) > 0 {
		return "tool_calls"
	}
	return "stop"
}

type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u usage) wire() *wireUsage {
	return &wireUsage{PromptTokens: u.prompt, CompletionTokens: u.completion, TotalTokens: u.prompt + u.completion}
}

type wireMessage struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content"`
	Refusal   *string        `json:"refusal"`
	ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
}

type wireChoice struct {
	Index        int          `json:"index"`
	Message      *wireMessage `json:"message,omitempty"`
	Delta        *wireMessage `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
	Logprobs     *struct{}    `json:"logprobs"`
}

type wireCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []wireChoice `json:"choices"`
	Usage             *wireUsage   `json:"usage"`
}

const fingerprint = "fp_llmops_sim"

func (r *reply) wireToolCalls() []wireToolCall {
	out := make([]wireToolCall, len(r.toolCalls))
	for i, tc := range r.toolCalls {
		out[i].ID, out[i].Type = tc.id, "function"
		out[i].Function.Name, out[i].Function.Arguments = tc.name, tc.arguments
	}
	return out
}

// writeJSON writes a plain chat.completion.
func writeJSON(w http.ResponseWriter, r *reply) {
	msg := &wireMessage{Role: "assistant"}
	if len(r.toolCalls) > 0 {
		msg.ToolCalls = r.wireToolCalls()
	} else {
		c := r.content
		msg.Content = &c
	}
	fr := r.finishReason()
	body, _ := json.Marshal(wireCompletion{
		ID: r.id, Object: "chat.completion", Created: r.created, Model: r.model, SystemFingerprint: fingerprint,
		Choices: []wireChoice{{Index: 0, Message: msg, FinishReason: &fr}},
		Usage:   r.usage.wire(),
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", r.id)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeStream writes the reply as Server-Sent Events: a role chunk, content
// or tool call chunks, a finish chunk, the usage chunk (when asked for) and
// [DONE].
func writeStream(w http.ResponseWriter, r *reply, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Request-Id", r.id)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(choices []wireChoice, u *wireUsage) {
		chunk := wireCompletion{ID: r.id, Object: "chat.completion.chunk", Created: r.created, Model: r.model,
			SystemFingerprint: fingerprint, Choices: choices, Usage: u}
		b, _ := json.Marshal(chunk)
		_, _ = w.Write([]byte("data: "))
		_, _ = w.Write(b)
		_, _ = w.Write([]byte("\n\n"))
		if flusher != nil {
			flusher.Flush()
		}
	}
	empty := ""
	send([]wireChoice{{Delta: &wireMessage{Role: "assistant", Content: &empty}}}, nil)
	for i, tc := range r.toolCalls {
		idx := i
		head := wireToolCall{Index: &idx, ID: tc.id, Type: "function"}
		head.Function.Name = tc.name
		send([]wireChoice{{Delta: &wireMessage{ToolCalls: []wireToolCall{head}}}}, nil)
		for _, part := range pieces(tc.arguments, 3) {
			d := wireToolCall{Index: &idx}
			d.Function.Arguments = part
			send([]wireChoice{{Delta: &wireMessage{ToolCalls: []wireToolCall{d}}}}, nil)
		}
	}
	if len(r.toolCalls) == 0 {
		for _, part := range pieces(r.content, 4) {
			p := part
			send([]wireChoice{{Delta: &wireMessage{Content: &p}}}, nil)
		}
	}
	fr := r.finishReason()
	send([]wireChoice{{Delta: &wireMessage{}, FinishReason: &fr}}, nil)
	if includeUsage {
		send([]wireChoice{}, r.usage.wire())
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	if flusher != nil {
		flusher.Flush()
	}
}

// pieces cuts s into at most n parts of about equal size, on rune
// boundaries.
func pieces(s string, n int) []string {
	if s == "" {
		return nil
	}
	size := (len(s) + n - 1) / n
	var out []string
	for len(s) > 0 {
		k := min(size, len(s))
		for k < len(s) && !utf8Start(s[k]) {
			k++
		}
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}

// writeError writes an OpenAI-style error.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": nil,
	}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
