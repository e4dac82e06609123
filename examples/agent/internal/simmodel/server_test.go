package simmodel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/examples/agent/internal/simmodel"
	"github.com/llmops-go/llmops/repair"
)

var schemas = map[string]string{
	"web_search":     `{"type":"object","properties":{"query":{"type":"string","minLength":1,"examples":["llmops"]},"max_results":{"type":"integer","minimum":1,"maximum":10,"default":3}},"required":["query"],"additionalProperties":false}`,
	"compute_primes": `{"type":"object","properties":{"limit":{"type":"integer","minimum":2,"maximum":1000000,"examples":[100]}},"required":["limit"],"additionalProperties":false}`,
	"lookup_fact":    `{"type":"object","properties":{"topic":{"type":"string","minLength":1,"maxLength":80,"examples":["paris"]}},"required":["topic"],"additionalProperties":false}`,
}

func toolParams() []openai.ChatCompletionToolUnionParam {
	var out []openai.ChatCompletionToolUnionParam
	for _, name := range []string{"web_search", "compute_primes", "lookup_fact"} {
		var params shared.FunctionParameters
		if err := json.Unmarshal([]byte(schemas[name]), &params); err != nil {
			panic(err)
		}
		out = append(out, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: name, Parameters: params}))
	}
	return out
}

func start(t *testing.T, opts ...simmodel.Option) (*simmodel.Server, openai.Client) {
	t.Helper()
	s, err := simmodel.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, openai.NewClient(option.WithBaseURL(url), option.WithAPIKey("sim"), option.WithMaxRetries(0))
}

func TestToolCallsPlain(t *testing.T) {
	_, client := start(t)
	tests := []struct {
		prompt, tool, args string
	}{
		{"How many primes are there below 1000?", "compute_primes", `{"limit":1000}`},
		{"Tell me a fact about Paris", "lookup_fact", `{"topic":"paris"}`},
		{"What is the weather in Paris today?", "web_search", `{"max_results":3,"query":"What is the weather in Paris today?"}`},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    "gpt-4o",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tt.prompt)},
				Tools:    toolParams(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != "gpt-4o" || len(resp.Choices) != 1 {
				t.Fatalf("model %q, %d choices", resp.Model, len(resp.Choices))
			}
			c := resp.Choices[0]
			if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 {
				t.Fatalf("finish %q, tool calls %+v", c.FinishReason, c.Message.ToolCalls)
			}
			tc := c.Message.ToolCalls[0]
			if tc.Function.Name != tt.tool || tc.Function.Arguments != tt.args {
				t.Errorf("got %s(%s), want %s(%s)", tc.Function.Name, tc.Function.Arguments, tt.tool, tt.args)
			}
			if resp.Usage.PromptTokens <= 0 || resp.Usage.CompletionTokens <= 0 ||
				resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
				t.Errorf("usage %+v", resp.Usage)
			}
		})
	}
}

func TestFinalAnswerAfterToolResult(t *testing.T) {
	_, client := start(t)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count primes to 50")},
		Tools:    toolParams(),
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	params.Messages = append(params.Messages, msg.ToParam(),
		openai.ToolMessage(`{"answer":"There are 15 primes up to 50."}`, msg.ToolCalls[0].ID))
	resp, err = client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.FinishReason != "stop" || !strings.Contains(c.Message.Content, "compute_primes: There are 15 primes up to 50.") {
		t.Errorf("finish %q content %q", c.FinishReason, c.Message.Content)
	}
}

func TestStreamingWithUsage(t *testing.T) {
	_, client := start(t)
	ctx := context.Background()
	for _, prompt := range []string{"primes below 200", "hello there"} {
		t.Run(prompt, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model:         "gpt-4o",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			}
			if strings.Contains(prompt, "prime") {
				params.Tools = toolParams()
			}
			plain, err := client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if acc.Usage.TotalTokens == 0 || acc.Usage.PromptTokens != plain.Usage.PromptTokens || acc.Usage.CompletionTokens != plain.Usage.CompletionTokens {
				t.Errorf("streamed usage %+v, plain %+v", acc.Usage, plain.Usage)
			}
			got, want := acc.Choices[0].Message, plain.Choices[0].Message
			if got.Content != want.Content || len(got.ToolCalls) != len(want.ToolCalls) {
				t.Fatalf("streamed %+v, plain %+v", got, want)
			}
			for i := range got.ToolCalls {
				if got.ToolCalls[i].Function.Arguments != want.ToolCalls[i].Function.Arguments {
					t.Errorf("tool call %d: %q vs %q", i, got.ToolCalls[i].Function.Arguments, want.ToolCalls[i].Function.Arguments)
				}
			}
		})
	}
}

func TestStreamWithoutUsageOption(t *testing.T) {
	s, err := simmodel.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	s.Handler().ServeHTTP(rec, req)
	body := rec.Body.String()
	if !strings.HasSuffix(body, "data: [DONE]\n\n") || strings.Contains(body, `"prompt_tokens"`) {
		t.Errorf("body:\n%s", body)
	}
}

func TestDeterministicPerSeed(t *testing.T) {
	body := `{"model":"gpt-4o","tools":[{"type":"function","function":{"name":"web_search"}}],"messages":[{"role":"user","content":"latest news"}]}`
	get := func(seed uint64) string {
		s, err := simmodel.New(simmodel.WithSeed(seed), simmodel.WithMalformedRate(0.5),
			simmodel.WithClock(clock.NewFake(time.Unix(1_800_000_000, 0))))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if a, b := get(7), get(7); a != b {
		t.Errorf("same seed, different answers:\n%s\n%s", a, b)
	}
	if a, b := get(7), get(8); a == b {
		t.Errorf("different seeds, same answer:\n%s", a)
	}
}

// TestMalformedArgumentsAreRepairable checks that every malformed emission is
// invalid against the tool's schema and that the repair loop, asking the
// simulated model, always gets valid arguments back.
func TestMalformedArgumentsAreRepairable(t *testing.T) {
	_, client := start(t, simmodel.WithMalformedRate(1), simmodel.WithSeed(3))
	reg, err := repair.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range schemas {
		if err := reg.Register(name, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	model := repair.ModelFunc(func(ctx context.Context, msgs []repair.Message) (repair.Completion, error) {
		var params []openai.ChatCompletionMessageParamUnion
		for _, m := range msgs {
			if m.Role == repair.RoleSystem {
				params = append(params, openai.SystemMessage(m.Content))
			} else {
				params = append(params, openai.UserMessage(m.Content))
			}
		}
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: params})
		if err != nil {
			return repair.Completion{}, err
		}
		return repair.Completion{Text: resp.Choices[0].Message.Content, Model: resp.Model}, nil
	})
	rep, err := repair.NewModelRepairer(model)
	if err != nil {
		t.Fatal(err)
	}
	loop, err := repair.New(reg, repair.WithRepairer(rep))
	if err != nil {
		t.Fatal(err)
	}
	prompts := []string{"primes up to 500", "primes below 77", "fact about redis", "search the latest Go release", "who is the capital of France", "primes to 9"}
	for _, p := range prompts {
		t.Run(p, func(t *testing.T) {
			resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p)}, Tools: toolParams(),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range resp.Choices[0].Message.ToolCalls {
				args := []byte(tc.Function.Arguments)
				if reg.Validate(tc.Function.Name, args) == nil {
					t.Errorf("%s: malformed rate 1 but valid arguments %s", tc.Function.Name, args)
				}
				fixed, err := loop.Args(context.Background(), tc.Function.Name, args)
				if err != nil {
					t.Fatalf("%s(%s): %v", tc.Function.Name, args, err)
				}
				if err := reg.Validate(tc.Function.Name, fixed); err != nil {
					t.Errorf("repaired %s invalid: %v", fixed, err)
				}
			}
		})
	}
}

// TestRepairOfCorruptedArguments runs the repair prompt on the corruptions
// chaos applies (truncation, single quotes, trailing comma) and checks the
// reply validates and keeps the salvageable values.
func TestRepairOfCorruptedArguments(t *testing.T) {
	s, err := simmodel.New()
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := repair.NewRegistry()
	for name, sc := range schemas {
		_ = reg.Register(name, []byte(sc))
	}
	mr, _ := repair.NewModelRepairer(repair.ModelFunc(func(context.Context, []repair.Message) (repair.Completion, error) {
		return repair.Completion{}, nil
	}))
	tests := []struct {
		tool, args, want string
	}{
		{"web_search", `{'query':'go release','max_results':2}`, `{"max_results":2,"query":"go release"}`},
		{"web_search", `{"query":"go release","max_results":2,}`, `{"max_results":2,"query":"go release"}`},
		{"web_search", `{"query":"go rel`, `{"query":"go rel"}`},
		{"web_search", `{"que`, `{"query":"llmops"}`},
		{"compute_primes", `{"limit":"250"}`, `{"limit":250}`},
		{"compute_primes", `{"limit":1e9`, `{"limit":1000000}`},
		{"compute_primes", `{`, `{"limit":100}`},
		{"lookup_fact", `"{\"topic\":\"redis\"}"`, `{"topic":"redis"}`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			sc, _ := reg.Lookup(tt.tool)
			msgs := mr.Prompt(repair.Request{Tool: tt.tool, Schema: sc, Args: []byte(tt.args),
				Errors: &repair.ValidationError{Tool: tt.tool, Violations: []repair.Violation{{Keyword: "json", Message: "bad"}}}, Attempt: 1})
			body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]string{
				{"role": "system", "content": msgs[0].Content}, {"role": "user", "content": msgs[1].Content},
			}})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)))
			var out struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			got := out.Choices[0].Message.Content
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if err := reg.Validate(tt.tool, []byte(got)); err != nil {
				t.Errorf("invalid: %v", err)
			}
		})
	}
}

func TestLatencyWaitsOnClock(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_800_000_000, 0))
	s, err := simmodel.New(simmodel.WithLatency(2*time.Second), simmodel.WithClock(fake))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)))
		done <- rec
	}()
	for fake.Timers() == 0 {
		select {
		case <-done:
			t.Fatal("answered before the latency passed")
		default:
			time.Sleep(time.Millisecond) // waiting for the handler to arm its timer, not for time to pass
		}
	}
	fake.Advance(time.Second)
	select {
	case <-done:
		t.Fatal("answered after 1s of a 2s latency")
	default:
	}
	fake.Advance(time.Second)
	if rec := <-done; rec.Code != http.StatusOK {
		t.Errorf("status %d", rec.Code)
	}
}

func TestErrors(t *testing.T) {
	s, err := simmodel.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, "/v1/chat/completions", "", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/chat/completions", "{", http.StatusBadRequest},
		{http.MethodPost, "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, http.StatusBadRequest},
		{http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`, http.StatusBadRequest},
		{http.MethodPost, "/v1/embeddings", `{}`, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path+tt.body, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			b, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || !bytes.Contains(b, []byte(`"error"`)) {
				t.Errorf("status %d body %s", rec.Code, b)
			}
		})
	}
	for _, opt := range []simmodel.Option{simmodel.WithMalformedRate(1.5), simmodel.WithLatency(-1)} {
		if _, err := simmodel.New(opt); err == nil {
			t.Error("bad option accepted")
		}
	}
}
