package drill_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/internal/drill"
)

// expected aggregates plan(1..n) the plain way.
type expected struct {
	status                        map[int]int
	instances, models             map[string]int
	fallbacks, repairs            int64
	downshifts, blocks, healed    int
	badHeaders, successes, answer int
}

func expect(n int) expected {
	e := expected{status: map[int]int{}, instances: map[string]int{}, models: map[string]int{}}
	for i := 1; i <= n; i++ {
		a := plan(i)
		e.status[a.status]++
		e.answer++
		inst := a.instance
		if inst == "" {
			inst = drill.NoneKey
		}
		e.instances[inst]++
		if a.model != "" {
			e.models[a.model]++
		}
		fb, err := strconv.ParseInt(a.fallbacks, 10, 64)
		if a.fallbacks != "" && err != nil {
			e.badHeaders++
		}
		rp, _ := strconv.ParseInt(a.repairs, 10, 64)
		e.fallbacks += fb
		e.repairs += rp
		if a.decision == "downshift" {
			e.downshifts++
		}
		if a.decision == "block" || a.code == "budget_exceeded" {
			e.blocks++
		}
		if a.status/100 == 2 {
			e.successes++
			if fb > 0 || rp > 0 {
				e.healed++
			}
		}
	}
	return e
}

func mapsEqual[K comparable](t *testing.T, name string, got, want map[K]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

func baseConfig(url string, n int) drill.Config {
	return drill.Config{
		URL:         url,
		Token:       testToken,
		Rate:        1000,
		Requests:    n,
		Concurrency: n, // no send can be dropped: counts are exact
		Header:      http.Header{"X-Tenant-Id": {"acme"}},
		Fault: &drill.Fault{
			Mode: drill.ModeThrottle, Target: "tool:web_search", Probability: 0.5,
			TTL: 2 * time.Minute, Tenant: "acme", RetryAfter: 3 * time.Second,
		},
	}
}

func TestRunEndToEnd(t *testing.T) {
	const n = 100
	svc := newFakeService(t)
	rep, err := drill.Run(t.Context(), baseConfig(svc.URL(), n))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The fault was set once, with the contract's body, then cleared once
	// after the last chat request.
	calls := svc.adminCalls()
	if len(calls) != 2 || calls[0].Method != http.MethodPost || calls[1].Method != http.MethodDelete {
		t.Fatalf("admin calls = %+v, want POST then DELETE", calls)
	}
	wantFault := map[string]string{"mode": "throttle", "target": "tool:web_search", "probability": "0.5", "ttl": "2m0s", "tenant": "acme", "retry_after": "3s"}
	if len(calls[0].Fault) != len(wantFault) {
		t.Errorf("fault body = %v, want %v", calls[0].Fault, wantFault)
	}
	for k, v := range wantFault {
		if got := calls[0].Fault[k]; got == nil || toString(got) != v {
			t.Errorf("fault body %s = %v, want %s", k, got, v)
		}
	}
	if !calls[0].Authorized || !calls[1].Authorized {
		t.Error("admin calls without the bearer token")
	}
	if calls[0].ChatsSoFar != 0 || calls[1].ChatsSoFar != n {
		t.Errorf("chats before set = %d, before clear = %d; want 0 and %d", calls[0].ChatsSoFar, calls[1].ChatsSoFar, n)
	}

	// The load requests carried the header, the default body and its type.
	svc.mu.Lock()
	for i, h := range svc.chatHeader {
		if h.Get("X-Tenant-ID") != "acme" || h.Get("Content-Type") != "application/json" {
			t.Fatalf("chat %d headers = %v", i, h)
		}
		if string(svc.chatBodies[i]) != drill.DefaultBody {
			t.Fatalf("chat %d body = %q", i, svc.chatBodies[i])
		}
	}
	svc.mu.Unlock()

	e := expect(n)
	if rep.Planned != n || rep.Sent != n || rep.Completed != n || rep.Dropped != 0 || rep.Canceled != 0 || rep.TransportErrors != 0 {
		t.Errorf("planned/sent/completed/dropped/canceled/transport = %d/%d/%d/%d/%d/%d, want %d/%d/%d/0/0/0",
			rep.Planned, rep.Sent, rep.Completed, rep.Dropped, rep.Canceled, rep.TransportErrors, n, n, n)
	}
	mapsEqual(t, "status", rep.Status, e.status)
	mapsEqual(t, "instances", rep.Instances, e.instances)
	mapsEqual(t, "models", rep.Models, e.models)
	// A few figures by hand, so the test does not only agree with itself.
	if rep.Status[503] != 10 || rep.Status[429] != 6 || rep.Instances[drill.NoneKey] != 11 {
		t.Errorf("503=%d 429=%d none=%d, want 10, 6 (25,41,75 blocks; 33,66,99 rate limited) and 11", rep.Status[503], rep.Status[429], rep.Instances[drill.NoneKey])
	}
	wantHealing := drill.Healing{
		Fallbacks: e.fallbacks, Repairs: e.repairs, Downshifts: e.downshifts,
		Blocks: e.blocks, Healed: e.healed, BadHeaders: e.badHeaders,
	}
	if rep.Healing != wantHealing {
		t.Errorf("healing = %+v, want %+v", rep.Healing, wantHealing)
	}
	if rep.Healing.Blocks != 3 || rep.Healing.BadHeaders != 1 {
		t.Errorf("blocks = %d, bad headers = %d; want 3 and 1", rep.Healing.Blocks, rep.Healing.BadHeaders)
	}
	if rep.Successes != e.successes || rep.SuccessRatio != float64(e.successes)/n {
		t.Errorf("successes = %d ratio %v, want %d ratio %v", rep.Successes, rep.SuccessRatio, e.successes, float64(e.successes)/n)
	}
	l := rep.Latency
	if l.Count != n || !l.Exact || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max || l.Max <= 0 {
		t.Errorf("latency = %+v", l)
	}
	if f := rep.Fault; f == nil || !f.Cleared || f.ClearedCount != 1 || f.ID != "f-1" || f.ExpiresAt.IsZero() || f.TTL != 2*time.Minute {
		t.Errorf("fault status = %+v", rep.Fault)
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case string:
		return v
	}
	return ""
}

func TestRunBaselineSendsNoAdminCall(t *testing.T) {
	svc := newFakeService(t)
	cfg := baseConfig(svc.URL(), 30)
	cfg.Fault, cfg.Token = nil, ""
	cfg.Method, cfg.Path, cfg.Body = http.MethodPut, "/chat?stream=false", []byte(`{"prompt":"x"}`)
	rep, err := drill.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(svc.adminCalls()); got != 0 {
		t.Errorf("admin calls = %d, want 0", got)
	}
	if rep.Fault != nil || rep.Sent != 30 || svc.chats.Load() != 30 {
		t.Errorf("fault = %v, sent = %d, server saw %d", rep.Fault, rep.Sent, svc.chats.Load())
	}
	if string(svc.chatBodies[0]) != `{"prompt":"x"}` || rep.Method != http.MethodPut || !strings.HasSuffix(rep.URL, "/chat?stream=false") {
		t.Errorf("body %q, method %s, url %s", svc.chatBodies[0], rep.Method, rep.URL)
	}
}

func TestRunCancelledMidRunClearsTheFault(t *testing.T) {
	svc := newFakeService(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	svc.onChat = func(n int) {
		if n == 20 {
			cancel()
		}
	}
	cfg := baseConfig(svc.URL(), 10000) // 10 s planned: cancellation comes first
	cfg.Concurrency = 50
	var mu sync.Mutex
	var snaps []drill.Snapshot
	cfg.Progress = func(s drill.Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		mu.Unlock()
	}
	rep, err := drill.Run(ctx, cfg)
	if !errors.Is(err, drill.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted and context.Canceled", err)
	}
	if got := svc.count(http.MethodDelete); got != 1 {
		t.Errorf("DELETE calls = %d, want 1", got)
	}
	if rep.Fault == nil || !rep.Fault.Cleared {
		t.Errorf("fault status = %+v, want cleared", rep.Fault)
	}
	if rep.Sent < 20 || rep.Sent >= rep.Planned || rep.Sent != rep.Completed+rep.Canceled {
		t.Errorf("sent %d completed %d canceled %d planned %d", rep.Sent, rep.Completed, rep.Canceled, rep.Planned)
	}
	if sum(rep.Status)+rep.TransportErrors != rep.Completed {
		t.Errorf("status %v + transport %d != completed %d", rep.Status, rep.TransportErrors, rep.Completed)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(snaps) == 0 || snaps[len(snaps)-1].Sent != rep.Sent {
		t.Errorf("last progress snapshot %+v, want Sent %d", snaps, rep.Sent)
	}
}

func sum(m map[int]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}

func TestRunCancelledBeforeStart(t *testing.T) {
	svc := newFakeService(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := drill.Run(ctx, baseConfig(svc.URL(), 5))
	if !errors.Is(err, drill.ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if len(svc.adminCalls()) != 0 || svc.chats.Load() != 0 {
		t.Errorf("admin calls %d, chats %d; want none", len(svc.adminCalls()), svc.chats.Load())
	}
}

func TestRunErrorPathClearsTheFault(t *testing.T) {
	// The admin API answers, the load URL does not: the drill fails as
	// unreachable after the fault was set, and still clears it.
	svc := newFakeService(t)
	cfg := baseConfig(closedURL(t), 10)
	cfg.AdminURL = svc.URL()
	rep, err := drill.Run(t.Context(), cfg)
	if !errors.Is(err, drill.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if svc.count(http.MethodPost) != 1 || svc.count(http.MethodDelete) != 1 {
		t.Errorf("admin calls = %+v, want one POST and one DELETE", svc.adminCalls())
	}
	if rep.Sent != 10 || rep.TransportErrors != 10 || rep.Errors[drill.ErrKindRefused] != 10 || rep.SuccessRatio != 0 {
		t.Errorf("sent %d transport %d errors %v ratio %v", rep.Sent, rep.TransportErrors, rep.Errors, rep.SuccessRatio)
	}
}

func TestRunCancelledDuringSetClearsToBeSafe(t *testing.T) {
	// The set call reached the server but its answer never came back: the
	// fault may be active, so the drill clears it and sends no load.
	svc := newFakeService(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	release := make(chan struct{})
	svc.onSet = func(*http.Request) {
		cancel() // the client gives up before the answer
		<-release
	}
	rep, err := drill.Run(ctx, baseConfig(svc.URL(), 10))
	close(release)
	if !errors.Is(err, drill.ErrInterrupted) || errors.Is(err, drill.ErrClearFailed) {
		t.Fatalf("err = %v, want ErrInterrupted without ErrClearFailed", err)
	}
	if svc.count(http.MethodDelete) != 1 || svc.chats.Load() != 0 {
		t.Errorf("DELETE calls %d, chats %d; want 1 and 0", svc.count(http.MethodDelete), svc.chats.Load())
	}
	if rep.Fault == nil || !rep.Fault.Cleared || rep.Sent != 0 {
		t.Errorf("fault %+v, sent %d", rep.Fault, rep.Sent)
	}
}

func TestRunClearFailureIsReported(t *testing.T) {
	svc := newFakeService(t)
	svc.clearFails = true
	rep, err := drill.Run(t.Context(), baseConfig(svc.URL(), 10))
	if !errors.Is(err, drill.ErrClearFailed) || !errors.Is(err, drill.ErrAdminRejected) {
		t.Fatalf("err = %v, want ErrClearFailed wrapping the admin rejection", err)
	}
	if !strings.Contains(err.Error(), "sync store down") {
		t.Errorf("err = %v, want the server's message", err)
	}
	if rep.Fault == nil || rep.Fault.Cleared || rep.Fault.ClearError == "" || rep.Sent != 10 {
		t.Errorf("report = %+v, fault = %+v", rep, rep.Fault)
	}
}

func TestRunAdminRefusalSendsNoLoad(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		status   int
		message  string
		wantIs   []error
		wantNot  error
		wantText []string
	}{
		{
			name: "wrong token", token: "wrong",
			wantIs:   []error{drill.ErrUnauthorized, drill.ErrAdminRejected},
			wantText: []string{"401", "invalid bearer token", "LLMOPS_ADMIN_TOKEN"},
		},
		{
			name: "bad request", token: testToken, status: http.StatusBadRequest, message: `unknown target "tool:"`,
			wantIs: []error{drill.ErrAdminRejected}, wantNot: drill.ErrUnauthorized,
			wantText: []string{"400", "bad_request", `unknown target "tool:"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFakeService(t)
			svc.setStatus, svc.setMessage = tt.status, tt.message
			cfg := baseConfig(svc.URL(), 10)
			cfg.Token = tt.token
			_, err := drill.Run(t.Context(), cfg)
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("err = %v, want it to match %v", err, target)
				}
			}
			if tt.wantNot != nil && errors.Is(err, tt.wantNot) {
				t.Errorf("err = %v matches %v", err, tt.wantNot)
			}
			var ae *drill.AdminError
			if !errors.As(err, &ae) || ae.Message == "" {
				t.Fatalf("err = %v, want *AdminError with the server's message", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q does not say %q", err, s)
				}
			}
			if svc.chats.Load() != 0 {
				t.Errorf("chats = %d, want no load", svc.chats.Load())
			}
			if svc.count(http.MethodDelete) != 0 {
				t.Error("cleared a fault that was never set")
			}
		})
	}
}

func TestRunUnreachable(t *testing.T) {
	url := closedURL(t)
	for _, withFault := range []bool{true, false} {
		t.Run("fault="+strconv.FormatBool(withFault), func(t *testing.T) {
			cfg := baseConfig(url, 3)
			if !withFault {
				cfg.Fault = nil
			}
			_, err := drill.Run(t.Context(), cfg)
			var ue *drill.UnreachableError
			if !errors.Is(err, drill.ErrUnreachable) || !errors.As(err, &ue) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(url, "http://")) || !strings.Contains(err.Error(), "refused") {
				t.Errorf("err = %q, want the address and the cause", err)
			}
		})
	}
}

func TestRunConfigErrors(t *testing.T) {
	svc := newFakeService(t)
	fault := func(mut func(*drill.Fault)) func(*drill.Config) {
		return func(c *drill.Config) { mut(c.Fault) }
	}
	tests := []struct {
		name string
		mut  func(*drill.Config)
		want string
	}{
		{"no url", func(c *drill.Config) { c.URL = "" }, "url is required"},
		{"relative url", func(c *drill.Config) { c.URL = "localhost:8080" }, "absolute http(s) URL"},
		{"ftp url", func(c *drill.Config) { c.URL = "ftp://127.0.0.1" }, "absolute http(s) URL"},
		{"bad admin url", func(c *drill.Config) { c.AdminURL = "/admin" }, "admin url"},
		{"path without slash", func(c *drill.Config) { c.Path = "chat" }, "must start with /"},
		{"zero rate", func(c *drill.Config) { c.Rate = 0 }, "rate"},
		{"negative rate", func(c *drill.Config) { c.Rate = -5 }, "rate"},
		{"NaN rate", func(c *drill.Config) { c.Rate = math.NaN() }, "rate"},
		{"infinite rate", func(c *drill.Config) { c.Rate = math.Inf(1) }, "rate"},
		{"no duration nor requests", func(c *drill.Config) { c.Requests = 0 }, "duration or a number of requests"},
		{"negative requests", func(c *drill.Config) { c.Requests = -1 }, "requests"},
		{"negative duration", func(c *drill.Config) { c.Duration = -time.Second }, "duration"},
		{"plans nothing", func(c *drill.Config) { c.Requests, c.Rate, c.Duration = 0, 0.5, time.Second }, "plans no request"},
		{"negative concurrency", func(c *drill.Config) { c.Concurrency = -1 }, "concurrency"},
		{"negative timeout", func(c *drill.Config) { c.Timeout = -1 }, "timeout"},
		{"no token", func(c *drill.Config) { c.Token = "" }, "token"},
		{"probability 2", fault(func(f *drill.Fault) { f.Probability = 2 }), "probability"},
		{"probability -0.1", fault(func(f *drill.Fault) { f.Probability = -0.1 }), "probability"},
		{"probability NaN", fault(func(f *drill.Fault) { f.Probability = math.NaN() }), "probability"},
		{"no mode", fault(func(f *drill.Fault) { f.Mode = 0 }), "mode"},
		{"unknown mode", fault(func(f *drill.Fault) { f.Mode = 9 }), "Mode(9)"},
		{"no target", fault(func(f *drill.Fault) { f.Target = "" }), "target is required"},
		{"unknown target", fault(func(f *drill.Fault) { f.Target = "db" }), `unknown target "db"`},
		{"tool without name", fault(func(f *drill.Fault) { f.Target = "tool:" }), "unknown target"},
		{"ttl over max", fault(func(f *drill.Fault) { f.TTL = 25 * time.Hour }), "ttl"},
		{"latency for throttle", fault(func(f *drill.Fault) { f.Latency = time.Second }), "only for mode latency"},
		{"latency mode without latency", fault(func(f *drill.Fault) { f.Mode, f.RetryAfter = drill.ModeLatency, 0 }), "positive latency"},
		{"retry-after for outage", fault(func(f *drill.Fault) { f.Mode = drill.ModeOutage }), "only for mode throttle"},
		{"negative retry-after", fault(func(f *drill.Fault) { f.RetryAfter = -time.Second }), "negative"},
		{"drill longer than a fault lives", func(c *drill.Config) {
			c.Requests, c.Rate, c.Duration, c.Fault.TTL = 0, 1, 25*time.Hour, 0
		}, "longer than a fault may live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(svc.URL(), 10)
			tt.mut(&cfg)
			_, err := drill.Run(t.Context(), cfg)
			if !errors.Is(err, drill.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrConfig saying %q", err, tt.want)
			}
		})
	}
	if n := len(svc.adminCalls()); n != 0 || svc.chats.Load() != 0 {
		t.Errorf("admin calls %d, chats %d; an invalid config must send nothing", n, svc.chats.Load())
	}
}

func TestRunDefaultTTLCoversTheDrill(t *testing.T) {
	svc := newFakeService(t)
	cfg := baseConfig(svc.URL(), 10)
	cfg.Fault.TTL = 0
	cfg.Timeout = 2 * time.Second
	rep, err := drill.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 10 requests at 1000/s span 10ms; + 2s timeout + 1m margin, rounded.
	if rep.Fault.TTL != time.Minute+2*time.Second {
		t.Errorf("ttl = %v, want 1m2s", rep.Fault.TTL)
	}
	if got := toString(svc.adminCalls()[0].Fault["ttl"]); got != "1m2s" {
		t.Errorf("ttl sent = %q", got)
	}
}

func TestRunDropsSendsAtTheConcurrencyBound(t *testing.T) {
	// One request hangs; the fake clock moves through the next four due
	// times: each of those sends is dropped, not delayed. Once the sender
	// waits for the sixth due time, the drill is cancelled.
	svc := newFakeService(t)
	first, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	svc.onChat = func(n int) {
		if n == 1 {
			close(first)
			<-release
		}
	}
	fake := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := baseConfig(svc.URL(), 6)
	cfg.Fault = nil
	cfg.Rate, cfg.Concurrency, cfg.Clock = 10, 1, fake

	type out struct {
		rep drill.Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := drill.Run(ctx, cfg)
		done <- out{rep, err}
	}()
	<-first
	waitTimer := func() {
		for fake.Timers() == 0 { // the sender is not yet waiting for its next due time
			runtime.Gosched()
		}
	}
	for range 4 {
		waitTimer()
		fake.Advance(100 * time.Millisecond)
	}
	waitTimer() // sends 2..5 are decided; the sender waits for the sixth
	cancel()
	o := <-done
	if !errors.Is(o.err, drill.ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", o.err)
	}
	r := o.rep
	if r.Sent != 1 || r.Dropped != 4 || r.Canceled != 1 || r.Completed != 0 || r.Planned != 6 || svc.chats.Load() != 1 {
		t.Errorf("sent %d dropped %d canceled %d completed %d planned %d (server saw %d), want 1, 4, 1, 0, 6, 1",
			r.Sent, r.Dropped, r.Canceled, r.Completed, r.Planned, svc.chats.Load())
	}
	if r.Elapsed != 400*time.Millisecond {
		t.Errorf("elapsed = %v on the fake clock, want 400ms", r.Elapsed)
	}
}

func TestRunReportJSONShape(t *testing.T) {
	svc := newFakeService(t)
	rep, err := drill.Run(t.Context(), baseConfig(svc.URL(), 20))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"method", "url", "rate", "duration_ms", "concurrency", "fault", "planned", "sent", "dropped",
		"late", "canceled", "completed", "status", "transport_errors", "errors", "successes", "success_ratio", "latency",
		"instances", "models", "healing", "elapsed_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report lacks %q: %s", k, data)
		}
	}
	status := m["status"].(map[string]any)
	if status["200"] != float64(rep.Status[200]) || status["503"] != float64(2) {
		t.Errorf("status = %v", status)
	}
	fault := m["fault"].(map[string]any)
	if fault["mode"] != "throttle" || fault["cleared"] != true || fault["ttl"] != "2m0s" || fault["expires_at"] != "2030-01-02T03:04:05Z" {
		t.Errorf("fault = %v", fault)
	}
	lat := m["latency"].(map[string]any)
	for _, k := range []string{"count", "exact", "p50_ms", "p95_ms", "p99_ms", "max_ms"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency lacks %q", k)
		}
	}
	healing := m["healing"].(map[string]any)
	if healing["fallbacks"] != float64(rep.Healing.Fallbacks) || healing["downshifts"] != float64(rep.Healing.Downshifts) {
		t.Errorf("healing = %v, want %+v", healing, rep.Healing)
	}
}

func TestParseMode(t *testing.T) {
	for m := drill.ModeThrottle; m <= drill.ModeLatency; m++ {
		got, err := drill.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	for _, s := range []string{"", "Outage", "chaos", "Mode(1)"} {
		if _, err := drill.ParseMode(s); !errors.Is(err, drill.ErrConfig) {
			t.Errorf("ParseMode(%q) err = %v, want ErrConfig", s, err)
		}
	}
	if s := drill.Mode(0).String(); s != "Mode(0)" {
		t.Errorf("Mode(0) = %q", s)
	}
}
