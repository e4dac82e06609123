package httpmw_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

func newTransport(t testing.TB, opts ...httpmw.Option) *http.Client {
	t.Helper()
	tr, err := httpmw.NewTransport(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

func postCtx(t testing.TB, ctx context.Context, c *http.Client, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func readClose(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return string(b)
}

func TestTaskCap(t *testing.T) {
	tests := []struct {
		name   string
		limits httpmw.Limits
		ok     int // calls that go through
		kind   httpmw.CapKind
	}{
		{"calls", httpmw.Limits{MaxCalls: 3}, 3, httpmw.CapCalls},
		{"tokens", httpmw.Limits{MaxTokens: 2 * (promptTokens + outputTokens)}, 2, httpmw.CapTokens},
		{"tokens crossed by one call", httpmw.Limits{MaxTokens: 100}, 1, httpmw.CapTokens},
		{"cost", httpmw.Limits{MaxCostMicroUSD: costGPT4o + 1}, 2, httpmw.CapCost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			c := newTransport(t, httpmw.WithRateCard(testCard(t)), httpmw.WithTaskLimits(tt.limits))
			ctx, task := httpmw.StartTask(context.Background(), "acme", nil)
			for i := range tt.ok {
				resp, err := postCtx(t, ctx, c, p.srv.URL+"/v1/chat/completions", chatBody("gpt-4o", i%2 == 1))
				if err != nil {
					t.Fatalf("call %d: %v", i+1, err)
				}
				readClose(t, resp)
			}
			_, err := postCtx(t, ctx, c, p.srv.URL+"/v1/chat/completions", chatBody("gpt-4o", false))
			var ce *httpmw.CapError
			if !errors.Is(err, httpmw.ErrTaskCapExceeded) || !errors.As(err, &ce) || ce.Kind != tt.kind {
				t.Fatalf("call %d: %v, want a %v CapError", tt.ok+1, err, tt.kind)
			}
			if n := len(p.seen()); n != tt.ok || task.Calls() != int64(tt.ok) {
				t.Fatalf("provider saw %d calls, task counted %d, want %d", n, task.Calls(), tt.ok)
			}
		})
	}
}

// waitTimer advances the fake clock by d once code under test is blocked on
// one of its timers.
func waitTimer(f *clock.Fake, d time.Duration) {
	for f.Timers() == 0 {
		runtime.Gosched()
	}
	f.Advance(d)
}

func TestChaosAtModelEdge(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		spec   chaos.Spec
		status int
		header map[string]string
		check  func(t *testing.T, body string)
		calls  int // requests that reached the provider
	}{
		{"throttle", chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Probability: 1, RetryAfter: 3 * time.Second},
			http.StatusTooManyRequests, map[string]string{"Retry-After": "3", "Content-Type": "application/json"},
			func(t *testing.T, body string) {
				if !strings.Contains(body, `"code":"rate_limit_exceeded"`) {
					t.Fatalf("body %s", body)
				}
			}, 0},
		{"outage", chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1},
			http.StatusServiceUnavailable, map[string]string{"Content-Type": "application/json"},
			func(t *testing.T, body string) {
				if !strings.Contains(body, `"type":"server_error"`) {
					t.Fatalf("body %s", body)
				}
			}, 0},
		{"malformed", chaos.Spec{Mode: chaos.Malformed, Target: chaos.Model(), Probability: 1},
			http.StatusOK, nil,
			func(t *testing.T, body string) {
				var v map[string]any
				if json.Unmarshal([]byte(body), &v) == nil {
					t.Fatalf("body is still a JSON object: %s", body)
				}
			}, 1},
		{"latency", chaos.Spec{Mode: chaos.Latency, Target: chaos.Model(), Probability: 1, Latency: 2 * time.Second},
			http.StatusOK, nil,
			func(t *testing.T, body string) {
				if !json.Valid([]byte(body)) {
					t.Fatalf("body %s", body)
				}
			}, 1},
		{"other tenant untouched", chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1, Tenant: "globex"},
			http.StatusOK, nil, func(*testing.T, string) {}, 1},
		{"tool fault untouched", chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("search"), Probability: 1},
			http.StatusOK, nil, func(*testing.T, string) {}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewFake(start)
			m := newMetrics(t)
			in, err := chaos.New(chaos.WithClock(fake), chaos.WithSeed(1), chaos.WithObserver(httpmw.ChaosObserver(m.rec)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Set(context.Background(), tt.spec); err != nil {
				t.Fatal(err)
			}
			p := newProvider(t)
			c := newTransport(t, httpmw.WithRecorder(m.rec), httpmw.WithChaos(in), httpmw.WithClock(fake))
			ctx, task := httpmw.StartTask(context.Background(), "acme", nil)
			type result struct {
				resp *http.Response
				err  error
			}
			rc := make(chan result, 1)
			go func() {
				resp, err := postCtx(t, ctx, c, p.srv.URL+"/v1/chat/completions", chatBody("gpt-4o", false))
				rc <- result{resp, err}
			}()
			if tt.spec.Mode == chaos.Latency {
				waitTimer(fake, tt.spec.Latency)
			}
			r := <-rc
			if r.err != nil {
				t.Fatal(r.err)
			}
			body := readClose(t, r.resp)
			if r.resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %s)", r.resp.StatusCode, tt.status, body)
			}
			for k, v := range tt.header {
				if got := r.resp.Header.Get(k); got != v {
					t.Fatalf("%s = %q, want %q", k, got, v)
				}
			}
			tt.check(t, body)
			if n := len(p.seen()); n != tt.calls {
				t.Fatalf("provider saw %d calls, want %d", n, tt.calls)
			}
			if tt.calls == 1 && task.CostMicroUSD() != costGPT4o {
				t.Fatalf("cost %d, want %d: a real call is billed even when chaos corrupts or delays it", task.CostMicroUSD(), costGPT4o)
			}
			if tt.status != http.StatusOK {
				code := map[int]string{429: "429", 503: "503"}[tt.status]
				if got := m.sum(t, sli.MetricGenAIOperationDuration, sli.AttrErrorType, code); got != 1 {
					t.Fatalf("model call with error.type %s recorded %v times", code, got)
				}
			}
			wantInjected := 1.0
			if tt.calls == 1 && tt.spec.Mode == chaos.Outage {
				wantInjected = 0
			}
			if got := m.sum(t, sli.MetricChaosInjected, sli.AttrMode, tt.spec.Mode.String()); got != wantInjected {
				t.Fatalf("%s = %v, want %v", sli.MetricChaosInjected, got, wantInjected)
			}
		})
	}
}

func TestAzureDeploymentRewrite(t *testing.T) {
	tests := []struct {
		name     string
		deps     map[string]string
		path     string
		wantPath string
		cost     int64
	}{
		{"mapped", map[string]string{"gpt-4o": "prod-4o", "gpt-4o-mini": "prod-mini"},
			"/openai/deployments/prod-4o/chat/completions", "/openai/deployments/prod-mini/chat/completions", costMini},
		{"unmapped downshift uses the model name", map[string]string{"gpt-4o": "prod-4o"},
			"/openai/deployments/prod-4o/chat/completions", "/openai/deployments/gpt-4o-mini/chat/completions", costMini},
		{"already on the downshift model", map[string]string{"gpt-4o-mini": "prod-mini"},
			"/openai/deployments/prod-mini/chat/completions", "/openai/deployments/prod-mini/chat/completions", costMini},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			m := newMetrics(t)
			c := newTransport(t, httpmw.WithRecorder(m.rec), httpmw.WithAzureDeployments(tt.deps))
			ctx := downshifted(t, "gpt-4o-mini")
			body := `{"messages":[{"role":"user","content":"hi"}],"stream":true}`
			resp, err := postCtx(t, ctx, c, p.srv.URL+tt.path+"?api-version=2024-10-21", body)
			if err != nil {
				t.Fatal(err)
			}
			readClose(t, resp)
			reqs := p.seen()
			if len(reqs) != 1 || reqs[0].Path != tt.wantPath || !reqs[0].IncludeUsage {
				t.Fatalf("provider saw %+v, want path %s with usage asked", reqs, tt.wantPath)
			}
			if got := httpmw.TaskFrom(ctx).CostMicroUSD(); got != tt.cost {
				t.Fatalf("cost %d, want %d", got, tt.cost)
			}
			if got := m.sum(t, sli.MetricGenAIOperationDuration, sli.AttrGenAIProviderName, "azure.ai.openai", sli.AttrGenAIRequestModel, "gpt-4o-mini"); got != 1 {
				t.Fatalf("azure model call recorded %v times", got)
			}
		})
	}
}

// downshifted returns a context whose task runs on model because its
// tenant's budget asked for a downshift, through the real middleware.
func downshifted(t *testing.T, model string) context.Context {
	t.Helper()
	enf := newEnforcer(t, &ctxStore{Memory: newMemory()}, 100, nil)
	var ctx context.Context
	h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctx = r.Context() }),
		httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(90)), httpmw.WithDownshiftModel(model))
	if err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(nopWriter{}, tenantRequest("acme"))
	return context.WithoutCancel(ctx)
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

func TestRetry(t *testing.T) {
	tests := []struct {
		name   string
		fail   []int
		policy httpmw.RetryPolicy
		limits httpmw.Limits
		status int
		calls  int
		waits  []time.Duration // fake-clock advances, each once a retry is waiting
	}{
		{"429 then success honours Retry-After", []int{429}, httpmw.RetryPolicy{MaxAttempts: 3, MaxDelay: 10 * time.Second}, httpmw.Limits{}, 200, 2, []time.Duration{2200 * time.Millisecond}},
		{"503 twice then success", []int{503, 503}, httpmw.RetryPolicy{MaxAttempts: 3, MaxDelay: 10 * time.Second}, httpmw.Limits{}, 200, 3, []time.Duration{2200 * time.Millisecond, 2200 * time.Millisecond}},
		{"attempts exhausted", []int{503, 503, 503}, httpmw.RetryPolicy{MaxAttempts: 2, MaxDelay: 10 * time.Second}, httpmw.Limits{}, 503, 2, []time.Duration{2200 * time.Millisecond}},
		{"Retry-After above MaxDelay is returned", []int{429}, httpmw.RetryPolicy{MaxAttempts: 3, MaxDelay: time.Second}, httpmw.Limits{}, 429, 1, nil},
		{"400 is not retried", []int{400}, httpmw.RetryPolicy{MaxAttempts: 3, MaxDelay: 10 * time.Second}, httpmw.Limits{}, 400, 1, nil},
		{"bounded by the task cap", []int{503, 503}, httpmw.RetryPolicy{MaxAttempts: 5, MaxDelay: 10 * time.Second}, httpmw.Limits{MaxCalls: 2}, 503, 2, []time.Duration{2200 * time.Millisecond}},
		{"no policy, no retry", []int{503}, httpmw.RetryPolicy{}, httpmw.Limits{}, 503, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			p.fail = tt.fail
			fake := clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
			c := newTransport(t, httpmw.WithRetry(tt.policy), httpmw.WithTaskLimits(tt.limits), httpmw.WithClock(fake),
				httpmw.WithRandSource(rand.NewPCG(1, 2)), httpmw.WithRateCard(testCard(t)))
			ctx, _ := httpmw.StartTask(context.Background(), "acme", nil)
			rc := make(chan *http.Response, 1)
			go func() {
				resp, err := postCtx(t, ctx, c, p.srv.URL+"/v1/chat/completions", chatBody("gpt-4o", false))
				if err != nil {
					t.Error(err)
				}
				rc <- resp
			}()
			for _, d := range tt.waits {
				// A wait shorter than Retry-After (2 s) must not release the retry.
				waitTimer(fake, 1900*time.Millisecond)
				if fake.Timers() != 1 {
					t.Fatal("retried before Retry-After")
				}
				fake.Advance(d - 1900*time.Millisecond)
			}
			resp := <-rc
			if resp == nil {
				t.FailNow()
			}
			readClose(t, resp)
			if resp.StatusCode != tt.status || len(p.seen()) != tt.calls {
				t.Fatalf("status %d after %d calls, want %d after %d", resp.StatusCode, len(p.seen()), tt.status, tt.calls)
			}
		})
	}
}

func TestUnaccountedResponses(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		stream bool
		reason string
	}{
		{"json without usage", "gpt-4o", false, "no_usage"},
		{"stream without usage", "gpt-4o", true, "no_usage"},
		{"unknown model", "llama-9", false, "unknown_model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t)
			p.noUsage = tt.reason == "no_usage"
			m := newMetrics(t)
			c := newTransport(t, httpmw.WithRecorder(m.rec))
			ctx, task := httpmw.StartTask(context.Background(), "acme", nil)
			resp, err := postCtx(t, ctx, c, p.srv.URL+"/v1/chat/completions", chatBody(tt.model, tt.stream))
			if err != nil {
				t.Fatal(err)
			}
			readClose(t, resp)
			if got := m.sum(t, sli.MetricUnaccounted, sli.AttrReason, tt.reason, sli.AttrGenAIRequestModel, tt.model); got != 1 {
				t.Fatalf("%s{reason=%s} = %v, want 1", sli.MetricUnaccounted, tt.reason, got)
			}
			if task.CostMicroUSD() != 0 {
				t.Fatalf("cost %d", task.CostMicroUSD())
			}
			if tt.reason == "no_usage" && task.ResponsesWithoutUsage() != 1 {
				t.Fatalf("ResponsesWithoutUsage = %d", task.ResponsesWithoutUsage())
			}
			if tt.reason == "unknown_model" && (task.UnpricedResponses() != 1 || task.Usage().InputTokens != promptTokens) {
				t.Fatalf("unpriced %d, usage %+v", task.UnpricedResponses(), task.Usage())
			}
		})
	}
}

func TestPassThrough(t *testing.T) {
	p := newProvider(t)
	c := newTransport(t, httpmw.WithTaskLimits(httpmw.Limits{MaxCalls: 1}))
	ctx, task := httpmw.StartTask(context.Background(), "acme", nil)
	for range 3 {
		resp, err := postCtx(t, ctx, c, p.srv.URL+"/v1/embeddings", chatBody("text-embedding-3-small", false))
		if err != nil {
			t.Fatal(err)
		}
		readClose(t, resp)
	}
	if task.Calls() != 0 {
		t.Fatalf("embeddings counted as %d chat calls", task.Calls())
	}
}
