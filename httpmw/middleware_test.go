package httpmw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

var noon = time.Date(2026, 11, 30, 23, 58, 59, 500_000_000, time.UTC) // 60.5 s before December

func newEnforcer(t testing.TB, store budget.Store, limit int64, c budget.Clock) *budget.Enforcer {
	t.Helper()
	opts := []budget.Option{budget.WithDefaultLimit(limit)}
	if c != nil {
		opts = append(opts, budget.WithClock(c))
	}
	enf, err := budget.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return enf
}

func tenantRequest(tenant string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/agent", strings.NewReader(`{}`))
	if tenant != "" {
		r.Header.Set("X-Tenant-ID", tenant)
	}
	return r
}

func TestBlock(t *testing.T) {
	fake := clock.NewFake(noon)
	m := newMetrics(t)
	enf := newEnforcer(t, budget.NewMemory(), 50_000, fake)
	called := false
	h, err := httpmw.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }),
		httpmw.WithRecorder(m.rec), httpmw.WithClock(fake),
		httpmw.WithTenant(httpmw.HeaderTenant("")),
		httpmw.WithBudget(enf, httpmw.FixedEstimate(60_000)))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, tenantRequest("acme"))
	if called {
		t.Fatal("the handler ran for a blocked tenant")
	}
	if w.Code != http.StatusTooManyRequests || w.Header().Get(httpmw.HeaderBudgetDecision) != "block" || w.Header().Get("Retry-After") != "61" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	e := decodeError(t, w.Body)
	if e["code"] != httpmw.CodeBudgetExceeded || e["limit_micro_usd"] != float64(50_000) || e["period_end"] != "2026-12-01T00:00:00Z" {
		t.Fatalf("error body %v", e)
	}
	if got := m.sum(t, sli.MetricTaskFailure, sli.AttrReason, httpmw.ReasonBudgetBlocked, sli.AttrTenant, "acme"); got != 1 {
		t.Fatalf("%s = %v", sli.MetricTaskFailure, got)
	}
}

func TestStoreFailure(t *testing.T) {
	m := newMetrics(t)
	store := &failingStore{}
	enf := newEnforcer(t, store, 50_000, nil)
	called := false
	h, err := httpmw.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }),
		httpmw.WithRecorder(m.rec), httpmw.WithTenant(httpmw.HeaderTenant("")),
		httpmw.WithBudget(enf, httpmw.FixedEstimate(100)))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, tenantRequest("acme"))
	if called || w.Code != http.StatusServiceUnavailable || w.Header().Get(httpmw.HeaderBudgetDecision) != "block" {
		t.Fatalf("handler ran %v, status %d, headers %v", called, w.Code, w.Header())
	}
	if e := decodeError(t, w.Body); e["code"] != httpmw.CodeBudgetUnavailable {
		t.Fatalf("error body %v", e)
	}
	if got := m.sum(t, sli.MetricTaskFailure, sli.AttrReason, httpmw.ReasonBudgetUnavailable); got != 1 {
		t.Fatalf("%s = %v", sli.MetricTaskFailure, got)
	}
}

func TestTenantFailure(t *testing.T) {
	tests := []struct{ name, tenant string }{
		{"missing", ""},
		{"bad charset", "acme corp"},
		{"too long", strings.Repeat("a", httpmw.MaxTenantLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &failingStore{}
			enf := newEnforcer(t, store, 50_000, nil)
			h, err := httpmw.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler ran") }),
				httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(100)))
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tenantRequest(tt.tenant))
			if w.Code != http.StatusUnauthorized || store.count() != 0 {
				t.Fatalf("status %d, store calls %d", w.Code, store.count())
			}
			if e := decodeError(t, w.Body); e["code"] != httpmw.CodeUnauthorized {
				t.Fatalf("error body %v", e)
			}
		})
	}
}

// servePanicking calls h and returns what it panicked with.
func servePanicking(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

func TestOutcome(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		reason  string // "" for success
		panics  any
	}{
		{"success", func(w http.ResponseWriter, r *http.Request) { httpmw.AddCost(r.Context(), 300) }, "", nil},
		{"4xx is a success", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) }, "", nil},
		{"marked failed", func(w http.ResponseWriter, r *http.Request) {
			httpmw.AddCost(r.Context(), 300)
			httpmw.MarkFailed(r.Context(), "tool_failure")
			httpmw.MarkFailed(r.Context(), "second")
		}, "tool_failure", nil},
		{"5xx", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }, httpmw.ReasonServerError, nil},
		{"panic", func(w http.ResponseWriter, r *http.Request) {
			httpmw.AddCost(r.Context(), 300)
			panic(boom)
		}, httpmw.ReasonPanic, boom},
		{"abort", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic(http.ErrAbortHandler)
		}, httpmw.ReasonAborted, http.ErrAbortHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(t)
			store := &ctxStore{Memory: budget.NewMemory()}
			enf := newEnforcer(t, store, 50_000, nil)
			h, err := httpmw.NewHandler(http.HandlerFunc(tt.handler), httpmw.WithRecorder(m.rec),
				httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(1000)))
			if err != nil {
				t.Fatal(err)
			}
			p := servePanicking(h, httptest.NewRecorder(), tenantRequest("acme"))
			if p != tt.panics {
				t.Fatalf("panicked with %v, want %v", p, tt.panics)
			}
			st, err := enf.Status(context.Background(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if st.Held != 0 || store.settleCount() != 1 {
				t.Fatalf("held %d after the request, %d settles", st.Held, store.settleCount())
			}
			succ, fail := m.sum(t, sli.MetricTaskSuccess), m.sum(t, sli.MetricTaskFailure)
			if tt.reason == "" && (succ != 1 || fail != 0) {
				t.Fatalf("success %v failure %v, want one success", succ, fail)
			}
			if tt.reason != "" && (succ != 0 || m.sum(t, sli.MetricTaskFailure, sli.AttrReason, tt.reason) != 1 || fail != 1) {
				t.Fatalf("success %v failure %v, want one failure %q", succ, fail, tt.reason)
			}
			if got := m.sum(t, sli.MetricTaskLatency); got != 1 {
				t.Fatalf("%s recorded %v times", sli.MetricTaskLatency, got)
			}
		})
	}
}

// TestClientDisconnect: the client hangs up while the handler is working;
// the cost it accumulated is still settled, on a context that is not the
// cancelled request's.
func TestClientDisconnect(t *testing.T) {
	p := newProvider(t)
	store := &ctxStore{Memory: budget.NewMemory()}
	enf := newEnforcer(t, store, 1_000_000, nil)
	tr, err := httpmw.NewTransport(nil, httpmw.WithRateCard(testCard(t)))
	if err != nil {
		t.Fatal(err)
	}
	inCall := make(chan struct{})
	h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", false)))
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		close(inCall)
		<-r.Context().Done() // the client is gone
	}), httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(50_000)))
	if err != nil {
		t.Fatal(err)
	}
	h, left := done(h)
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	req.Header.Set("X-Tenant-ID", "acme")
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-inCall
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v", err)
	}
	<-left
	st, err := enf.Status(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if st.Spent != costGPT4o || st.Held != 0 {
		t.Fatalf("spent %d held %d, want spent %d held 0", st.Spent, st.Held, costGPT4o)
	}
}

// flushRecorder is a ResponseWriter with Flush and a deadline setter, the
// features a handler reaches through the wrapper.
type flushRecorder struct {
	*httptest.ResponseRecorder
	deadline time.Time
}

func (f *flushRecorder) SetWriteDeadline(t time.Time) error { f.deadline = t; return nil }

func TestResponseWriter(t *testing.T) {
	m := newMetrics(t)
	t.Run("features off: the writer is not wrapped", func(t *testing.T) {
		w := httptest.NewRecorder()
		var got http.ResponseWriter
		h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = w }))
		if err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(w, tenantRequest(""))
		if got != http.ResponseWriter(w) {
			t.Fatalf("handler got %T", got)
		}
	})
	t.Run("flush and ResponseController through the wrapper", func(t *testing.T) {
		w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		deadline := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := w.(http.Flusher); !ok {
				t.Error("the wrapper lost http.Flusher")
			}
			_, _ = io.WriteString(w, "chunk")
			w.(http.Flusher).Flush()
			if err := http.NewResponseController(w).SetWriteDeadline(deadline); err != nil {
				t.Error(err)
			}
		}), httpmw.WithRecorder(m.rec))
		if err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(w, tenantRequest(""))
		if !w.Flushed || !w.deadline.Equal(deadline) || w.Body.String() != "chunk" {
			t.Fatalf("flushed %v, deadline %v, body %q", w.Flushed, w.deadline, w.Body)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Errorf("read error %v, want *http.MaxBytesError", err)
		}
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}), httpmw.WithBodyLimit(8))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("0123456789")))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
}

func TestDownshiftInContext(t *testing.T) {
	enf := newEnforcer(t, budget.NewMemory(), 100, nil)
	var model string
	var ok bool
	var dec budget.Decision
	h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		model, ok = httpmw.DownshiftModel(r.Context())
		dec = httpmw.TaskFrom(r.Context()).Decision()
	}), httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(90)), httpmw.WithDownshiftModel("small"))
	if err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), tenantRequest("acme"))
	if model != "small" || !ok || dec != budget.Downshift {
		t.Fatalf("DownshiftModel = %q, %v; decision %v", model, ok, dec)
	}
}

func TestNewValidation(t *testing.T) {
	enf := newEnforcer(t, budget.NewMemory(), 100, nil)
	tests := []struct {
		name string
		opts []httpmw.Option
	}{
		{"nil option", []httpmw.Option{nil}},
		{"budget without tenant", []httpmw.Option{httpmw.WithBudget(enf, httpmw.FixedEstimate(1))}},
		{"budget without estimator", []httpmw.Option{httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, nil)}},
		{"downshift without budget", []httpmw.Option{httpmw.WithDownshiftModel("m")}},
		{"empty downshift", []httpmw.Option{httpmw.WithDownshiftModel("")}},
		{"nil tenant", []httpmw.Option{httpmw.WithTenant(nil)}},
		{"zero body limit", []httpmw.Option{httpmw.WithBodyLimit(0)}},
		{"settle timeout", []httpmw.Option{httpmw.WithSettleTimeout(0)}},
		{"nil recorder", []httpmw.Option{httpmw.WithRecorder(nil)}},
		{"negative limits", []httpmw.Option{httpmw.WithTaskLimits(httpmw.Limits{MaxCalls: -1})}},
		{"retry attempts", []httpmw.Option{httpmw.WithRetry(httpmw.RetryPolicy{MaxAttempts: 99})}},
		{"retry delays", []httpmw.Option{httpmw.WithRetry(httpmw.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Second, MaxDelay: time.Millisecond})}},
		{"azure empty", []httpmw.Option{httpmw.WithAzureDeployments(map[string]string{"m": ""})}},
		{"azure path", []httpmw.Option{httpmw.WithAzureDeployments(map[string]string{"m": "a/b"})}},
		{"azure duplicate", []httpmw.Option{httpmw.WithAzureDeployments(map[string]string{"m": "d", "n": "d"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpmw.New(tt.opts...); err == nil {
				t.Fatal("New accepted the options")
			}
		})
	}
	if _, err := httpmw.New(); err != nil {
		t.Fatalf("New(): %v", err)
	}
}

func TestAddUsage(t *testing.T) {
	card := testCard(t)
	ctx, task := httpmw.StartTask(context.Background(), "acme", card)
	cost, err := httpmw.AddUsage(ctx, "gpt-4o", sli.Usage{InputTokens: promptTokens, CachedInputTokens: cachedTokens, OutputTokens: outputTokens})
	if err != nil || cost != costGPT4o {
		t.Fatalf("AddUsage = %d, %v", cost, err)
	}
	if _, err := httpmw.AddUsage(ctx, "no-such-model", sli.Usage{InputTokens: 10}); !errors.Is(err, sli.ErrUnknownModel) {
		t.Fatalf("unknown model: %v", err)
	}
	if _, err := httpmw.AddUsage(context.Background(), "gpt-4o", sli.Usage{}); !errors.Is(err, httpmw.ErrNoTask) {
		t.Fatalf("no task: %v", err)
	}
	if _, err := httpmw.AddUsage(ctx, "gpt-4o", sli.Usage{InputTokens: -1}); !errors.Is(err, sli.ErrInvalidUsage) {
		t.Fatalf("invalid usage: %v", err)
	}
	u := task.Usage()
	if u.InputTokens != promptTokens+10 || u.OutputTokens != outputTokens || task.CostMicroUSD() != costGPT4o || task.UnpricedResponses() != 1 {
		t.Fatalf("task usage %+v cost %d unpriced %d", u, task.CostMicroUSD(), task.UnpricedResponses())
	}
}
