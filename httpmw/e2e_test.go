package httpmw_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

// agent is a handler in the shape of a real agent service: it calls the
// model through the official OpenAI SDK, whose http.Client uses the
// Transport, and answers its own client (streaming when asked).
type agent struct {
	baseURL string
	tr      http.RoundTripper
	ack     chan struct{} // streaming: the handler waits for the client to see each chunk
}

func (a *agent) client() openai.Client {
	return openai.NewClient(
		option.WithBaseURL(a.baseURL+"/v1/"),
		option.WithAPIKey("test-key"),
		option.WithHTTPClient(&http.Client{Transport: a.tr}),
		option.WithMaxRetries(0),
	)
}

func (a *agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := a.client()
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	}
	if r.URL.Query().Get("stream") == "" {
		resp, err := client.Chat.Completions.New(r.Context(), params)
		if err != nil {
			httpmw.MarkFailed(r.Context(), "model_error")
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("X-Agent-Model", resp.Model)
		fmt.Fprint(w, resp.Choices[0].Message.Content)
		return
	}
	stream := client.Chat.Completions.NewStreaming(r.Context(), params)
	defer stream.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	flush := http.NewResponseController(w)
	for stream.Next() {
		c := stream.Current()
		if len(c.Choices) == 0 {
			continue
		}
		fmt.Fprintf(w, "data: %s\n\n", strings.TrimSpace(c.Choices[0].Delta.Content))
		if err := flush.Flush(); err != nil {
			panic(err)
		}
		<-a.ack
	}
	if err := stream.Err(); err != nil {
		httpmw.MarkFailed(r.Context(), "model_error")
	}
}

// done wraps h and reports each time a request has left it, so a test can
// look at the budget once the middleware has settled.
func done(h http.Handler) (http.Handler, <-chan struct{}) {
	ch := make(chan struct{}, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ch <- struct{}{} }()
		h.ServeHTTP(w, r)
	}), ch
}

func TestEndToEndOpenAISDK(t *testing.T) {
	tests := []struct {
		name      string
		stream    bool
		estimate  int64
		decision  string
		model     string
		wantCost  int64
		respModel string
	}{
		{"plain allow", false, 10_000, "allow", "gpt-4o", costGPT4o, "gpt-4o-2024-08-06"},
		{"plain downshift", false, 85_000, "downshift", "gpt-4o-mini", costMini, "gpt-4o-mini-2024-08-06"},
		{"stream allow", true, 10_000, "allow", "gpt-4o", costGPT4o, ""},
		{"stream downshift", true, 85_000, "downshift", "gpt-4o-mini", costMini, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			m := newMetrics(t)
			store := &ctxStore{Memory: budget.NewMemory()}
			enf, err := budget.New(store, budget.WithDefaultLimit(100_000), budget.WithObserver(httpmw.BudgetObserver(m.rec)))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := httpmw.NewTransport(nil, httpmw.WithRecorder(m.rec))
			if err != nil {
				t.Fatal(err)
			}
			a := &agent{baseURL: p.srv.URL, tr: tr, ack: make(chan struct{})}
			h, err := httpmw.NewHandler(a,
				httpmw.WithRecorder(m.rec),
				httpmw.WithTenant(httpmw.HeaderTenant("")),
				httpmw.WithBudget(enf, httpmw.FixedEstimate(tt.estimate)),
				httpmw.WithDownshiftModel("gpt-4o-mini"),
			)
			if err != nil {
				t.Fatal(err)
			}
			h, left := done(h)
			srv := httptest.NewServer(h)
			defer srv.Close()

			url := srv.URL
			if tt.stream {
				url += "?stream=1"
			}
			req, _ := http.NewRequest(http.MethodPost, url, nil)
			req.Header.Set("X-Tenant-ID", "acme")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get(httpmw.HeaderBudgetDecision); got != tt.decision {
				t.Fatalf("%s = %q, want %q", httpmw.HeaderBudgetDecision, got, tt.decision)
			}
			if tt.stream {
				// Each chunk arrives while the handler waits for it to be
				// seen: it was flushed through the middleware on its own.
				sc := bufio.NewScanner(resp.Body)
				n := 0
				for sc.Scan() {
					if line := sc.Text(); strings.HasPrefix(line, "data: tok") {
						n++
						a.ack <- struct{}{}
					}
				}
				if n != p.chunks {
					t.Fatalf("client saw %d chunks, want %d", n, p.chunks)
				}
			} else if got := resp.Header.Get("X-Agent-Model"); got != tt.respModel {
				t.Fatalf("response model %q, want %q", got, tt.respModel)
			}
			<-left

			reqs := p.seen()
			if len(reqs) != 1 || reqs[0].Model != tt.model || reqs[0].Stream != tt.stream || reqs[0].IncludeUsage != tt.stream {
				t.Fatalf("provider saw %+v, want model %s stream %v with usage requested", reqs, tt.model, tt.stream)
			}
			st, err := enf.Status(context.Background(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if st.Spent != tt.wantCost || st.Held != 0 {
				t.Fatalf("budget spent %d held %d, want spent %d held 0", st.Spent, st.Held, tt.wantCost)
			}
			if got := m.sum(t, sli.MetricTaskSuccess, "tenant", "acme", "model", tt.model); got != 1 {
				t.Fatalf("%s = %v, want 1", sli.MetricTaskSuccess, got)
			}
			if got := m.sum(t, sli.MetricCostUSD); math.Abs(got-float64(tt.wantCost)/1e6) > 1e-9 {
				t.Fatalf("%s = %v, want %v", sli.MetricCostUSD, got, float64(tt.wantCost)/1e6)
			}
			if got := m.sum(t, sli.MetricTokensIn); got != promptTokens {
				t.Fatalf("%s = %v", sli.MetricTokensIn, got)
			}
			if got := m.sum(t, sli.MetricGenAIOperationDuration, "gen_ai.request.model", tt.model, "gen_ai.provider.name", "openai"); got != 1 {
				t.Fatalf("%s count = %v, want 1", sli.MetricGenAIOperationDuration, got)
			}
			if got := m.sum(t, sli.MetricGenAITokenUsage, "gen_ai.token.type", "input"); got != 1 {
				t.Fatalf("%s input count = %v, want 1", sli.MetricGenAITokenUsage, got)
			}
			wantShift := 0.0
			if tt.decision == "downshift" {
				wantShift = 1
			}
			if got := m.sum(t, sli.MetricModelDownshift, sli.AttrFromModel, "gpt-4o", sli.AttrToModel, "gpt-4o-mini"); got != wantShift {
				t.Fatalf("%s = %v, want %v", sli.MetricModelDownshift, got, wantShift)
			}
			if got := m.sum(t, sli.MetricBudgetBreach, "decision", "downshift"); got != wantShift {
				t.Fatalf("%s = %v, want %v", sli.MetricBudgetBreach, got, wantShift)
			}
			if got := m.sum(t, sli.MetricUnaccounted); got != 0 {
				t.Fatalf("%s = %v, want 0", sli.MetricUnaccounted, got)
			}
		})
	}
}

// TestEndToEndCapWithSDK shows how the per-task cap reaches an agent that
// uses the SDK: the call fails fast with an error matching
// ErrTaskCapExceeded, and no request reaches the provider.
func TestEndToEndCapWithSDK(t *testing.T) {
	p := newProvider(t)
	tr, err := httpmw.NewTransport(nil, httpmw.WithRateCard(testCard(t)), httpmw.WithTaskLimits(httpmw.Limits{MaxCalls: 1}))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{baseURL: p.srv.URL, tr: tr}
	client := a.client()
	ctx, task := httpmw.StartTask(context.Background(), "acme", nil)
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	if _, err := client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	_, err = client.Chat.Completions.New(ctx, params)
	var capErr *httpmw.CapError
	if !errors.Is(err, httpmw.ErrTaskCapExceeded) || !errors.As(err, &capErr) || capErr.Kind != httpmw.CapCalls {
		t.Fatalf("second call: %v, want a calls CapError", err)
	}
	if n := len(p.seen()); n != 1 || task.Calls() != 1 || task.CostMicroUSD() != costGPT4o {
		t.Fatalf("provider saw %d requests, task calls %d cost %d", n, task.Calls(), task.CostMicroUSD())
	}
}
