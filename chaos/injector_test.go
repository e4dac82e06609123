package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// counter is an Observer that counts injections per "mode target".
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) ChaosInjected(mode, target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[mode+" "+target]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func newInjector(t *testing.T, opts ...chaos.Option) (*chaos.Injector, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	in, err := chaos.New(append([]chaos.Option{chaos.WithClock(fc), chaos.WithSeed(42)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return in, fc
}

func mustSet(t *testing.T, c chaos.Controller, s chaos.Spec) chaos.Fault {
	t.Helper()
	f, err := c.Set(context.Background(), s)
	if err != nil {
		t.Fatalf("Set(%+v): %v", s, err)
	}
	return f
}

func TestZeroValueAndNilInjectNothing(t *testing.T) {
	var zero chaos.Injector
	var nilInj *chaos.Injector
	for _, in := range []*chaos.Injector{&zero, nilInj} {
		eff, err := in.Inject(context.Background(), chaos.Model(), "acme")
		if err != nil || eff.Malformed() || eff.Delay != 0 {
			t.Fatalf("Inject on an empty injector = %+v, %v", eff, err)
		}
	}
	// The zero value becomes active once a fault is set.
	mustSet(t, &zero, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1})
	if _, err := zero.Inject(context.Background(), chaos.Model(), ""); !errors.Is(err, chaos.ErrOutage) {
		t.Fatalf("zero-value injector with an outage: err = %v", err)
	}
}

func TestNoFaultDoesNotAllocate(t *testing.T) {
	in, _ := newInjector(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() { _, _ = in.Inject(ctx, chaos.Tool("search"), "acme") })
	if allocs != 0 {
		t.Fatalf("no-fault Inject allocates %v times per call", allocs)
	}
	mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Probability: 1})
	allocs = testing.AllocsPerRun(1000, func() { _, _ = in.Inject(ctx, chaos.Model(), "acme") })
	if allocs != 0 {
		t.Fatalf("Inject with a firing throttle allocates %v times per call", allocs)
	}
}

func TestProbabilities(t *testing.T) {
	const n = 100_000
	for _, p := range []float64{0, 1, 0.3, 0.05, 0.999} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			obs := &counter{}
			in, _ := newInjector(t, chaos.WithObserver(obs))
			mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("search"), Probability: p})
			hits := 0
			for range n {
				_, err := in.Inject(context.Background(), chaos.Tool("search"), "")
				if err != nil {
					if !errors.Is(err, chaos.ErrOutage) {
						t.Fatalf("unexpected error %v", err)
					}
					hits++
				}
			}
			switch p {
			case 0:
				if hits != 0 {
					t.Fatalf("p=0 hit %d of %d calls", hits, n)
				}
			case 1:
				if hits != n {
					t.Fatalf("p=1 hit %d of %d calls", hits, n)
				}
			default:
				mean := n * p
				sigma := math.Sqrt(n * p * (1 - p))
				if math.Abs(float64(hits)-mean) > 5*sigma {
					t.Fatalf("p=%v hit %d of %d calls, want %.0f ± %.0f (5σ)", p, hits, n, mean, 5*sigma)
				}
			}
			if got := obs.get("outage tool:search"); got != hits {
				t.Fatalf("observer counted %d injections, callers saw %d", got, hits)
			}
		})
	}
}

func TestSeedMakesDrawsReproducible(t *testing.T) {
	run := func(seed uint64) []bool {
		in, err := chaos.New(chaos.WithClock(clock.NewFake(t0)), chaos.WithSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Probability: 0.5})
		out := make([]bool, 500)
		for i := range out {
			_, err := in.Inject(context.Background(), chaos.Model(), "")
			out[i] = err != nil
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("the same seed gave different draws")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds gave identical draws")
	}
}

func TestRandSource(t *testing.T) {
	if _, err := chaos.New(chaos.WithSeed(1), chaos.WithRandSource(rand.NewPCG(1, 2))); err == nil {
		t.Fatal("WithSeed together with WithRandSource accepted")
	}
	in, err := chaos.New(chaos.WithRandSource(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 0.5})
	hits := 0
	for range 10_000 {
		if _, err := in.Inject(context.Background(), chaos.Model(), ""); err != nil {
			hits++
		}
	}
	if hits < 4500 || hits > 5500 {
		t.Fatalf("p=0.5 with a PCG source hit %d of 10000", hits)
	}
}

func TestTargetsAndTenants(t *testing.T) {
	tests := []struct {
		name       string
		target     chaos.Target
		tenant     string
		callAt     chaos.Target
		callTenant string
		want       bool
	}{
		{"model hits model", chaos.Model(), "", chaos.Model(), "a", true},
		{"model spares tools", chaos.Model(), "", chaos.Tool("search"), "a", false},
		{"tools hit any tool", chaos.Tools(), "", chaos.Tool("search"), "a", true},
		{"tools spare the model", chaos.Tools(), "", chaos.Model(), "a", false},
		{"tool hits that tool", chaos.Tool("search"), "", chaos.Tool("search"), "", true},
		{"tool spares another tool", chaos.Tool("search"), "", chaos.Tool("fetch"), "", false},
		{"tool spares the model", chaos.Tool("search"), "", chaos.Model(), "", false},
		{"tenant hits that tenant", chaos.Model(), "acme", chaos.Model(), "acme", true},
		{"tenant spares another tenant", chaos.Model(), "acme", chaos.Model(), "globex", false},
		{"tenant spares the empty tenant", chaos.Model(), "acme", chaos.Model(), "", false},
		{"zero call target matches nothing", chaos.Tools(), "", chaos.Target{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := newInjector(t)
			mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: tt.target, Tenant: tt.tenant, Probability: 1})
			_, err := in.Inject(context.Background(), tt.callAt, tt.callTenant)
			if got := err != nil; got != tt.want {
				t.Fatalf("hit = %v, want %v (err %v)", got, tt.want, err)
			}
		})
	}
}

func TestTTLExpiry(t *testing.T) {
	in, fc := newInjector(t)
	ctx := context.Background()
	f := mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1, TTL: 5 * time.Minute})
	if !f.ExpiresAt.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("ExpiresAt = %v", f.ExpiresAt)
	}
	d := mustSet(t, in, chaos.Spec{Mode: chaos.Malformed, Target: chaos.Tools(), Probability: 1})
	if d.TTL != chaos.DefaultTTL || !d.ExpiresAt.Equal(t0.Add(chaos.DefaultTTL)) {
		t.Fatalf("default TTL fault = %+v", d)
	}
	fc.Advance(5*time.Minute - time.Nanosecond)
	if _, err := in.Inject(ctx, chaos.Model(), ""); err == nil {
		t.Fatal("fault gone before its TTL")
	}
	fs, _ := in.Faults(ctx)
	if len(fs) != 2 || fs[0].Remaining(fc.Now()) != time.Nanosecond {
		t.Fatalf("Faults before expiry = %+v", fs)
	}
	fc.Advance(time.Nanosecond)
	if _, err := in.Inject(ctx, chaos.Model(), ""); err != nil {
		t.Fatalf("fault still active at its expiry: %v", err)
	}
	fs, _ = in.Faults(ctx)
	if len(fs) != 1 || fs[0].Mode != chaos.Malformed {
		t.Fatalf("Faults after the first expiry = %+v", fs)
	}
	fc.Advance(chaos.DefaultTTL)
	if eff, _ := in.Inject(ctx, chaos.Tool("x"), ""); eff.Malformed() {
		t.Fatal("default-TTL fault outlived 10 minutes")
	}
	if fs, _ = in.Faults(ctx); len(fs) != 0 {
		t.Fatalf("Faults after every expiry = %+v", fs)
	}
	if n, _ := in.Clear(ctx); n != 0 {
		t.Fatalf("Clear after expiry cleared %d", n)
	}
}

func TestClearAll(t *testing.T) {
	in, _ := newInjector(t)
	ctx := context.Background()
	mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1})
	mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Tools(), Probability: 1})
	mustSet(t, in, chaos.Spec{Mode: chaos.Latency, Target: chaos.Tool("a"), Probability: 1, Latency: time.Second})
	n, err := in.Clear(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Clear = %d, %v; want 3", n, err)
	}
	for _, at := range []chaos.Target{chaos.Model(), chaos.Tool("a")} {
		if eff, err := in.Inject(ctx, at, ""); err != nil || eff.Delay != 0 {
			t.Fatalf("Inject after Clear = %+v, %v", eff, err)
		}
	}
	if n, _ := in.Clear(ctx); n != 0 {
		t.Fatalf("second Clear = %d", n)
	}
}

func TestFaultBound(t *testing.T) {
	in, fc := newInjector(t)
	ctx := context.Background()
	for i := range chaos.MaxFaults {
		mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool(fmt.Sprint("t", i)), Probability: 1, TTL: time.Duration(i+1) * time.Minute})
	}
	_, err := in.Set(ctx, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1})
	if !errors.Is(err, chaos.ErrTooManyFaults) {
		t.Fatalf("17th fault: err = %v, want ErrTooManyFaults", err)
	}
	// Replacing a fault in the same slot is allowed at the bound.
	f := mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("t3"), Probability: 0.5})
	fs, _ := in.Faults(ctx)
	if len(fs) != chaos.MaxFaults {
		t.Fatalf("%d faults after a replacement", len(fs))
	}
	for _, g := range fs {
		if g.Target == chaos.Tool("t3") && (g.ID != f.ID || g.Probability != 0.5) {
			t.Fatalf("replacement not applied: %+v", g)
		}
	}
	// Once one expires there is room again.
	fc.Advance(time.Minute)
	mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1})
}

func TestLatency(t *testing.T) {
	in, fc := newInjector(t)
	mustSet(t, in, chaos.Spec{Mode: chaos.Latency, Target: chaos.Model(), Probability: 1, Latency: 2 * time.Second})
	mustSet(t, in, chaos.Spec{Mode: chaos.Latency, Target: chaos.Model(), Tenant: "acme", Probability: 1, Latency: time.Second})

	type result struct {
		eff chaos.Effect
		err error
	}
	start := func(ctx context.Context) <-chan result {
		ch := make(chan result, 1)
		go func() {
			eff, err := in.Inject(ctx, chaos.Model(), "acme")
			ch <- result{eff, err}
		}()
		waitTimers(t, fc, 1)
		return ch
	}

	ch := start(context.Background())
	select {
	case r := <-ch:
		t.Fatalf("Inject returned before the delay elapsed: %+v", r)
	default:
	}
	fc.Advance(3*time.Second - time.Nanosecond)
	select {
	case r := <-ch:
		t.Fatalf("Inject returned before the delay elapsed: %+v", r)
	default:
	}
	fc.Advance(time.Nanosecond)
	r := <-ch
	if r.err != nil || r.eff.Delay != 3*time.Second {
		t.Fatalf("latency = %+v, %v; want the two delays summed, 3s", r.eff, r.err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ch = start(ctx)
	cancel()
	r = <-ch
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled latency: err = %v", r.err)
	}
	if n := fc.Timers(); n != 0 {
		t.Fatalf("%d timers left after cancellation", n)
	}
}

// waitTimers waits, with a bounded deadline, until n timers are pending on
// fc: the goroutine under test is then blocked on its delay.
func waitTimers(t *testing.T, fc *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fc.Timers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d timers pending, want %d", fc.Timers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestErrors(t *testing.T) {
	in, _ := newInjector(t)
	ctx := context.Background()
	mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Probability: 1, RetryAfter: 1500 * time.Millisecond})
	mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("search"), Probability: 1})

	_, err := in.Inject(ctx, chaos.Model(), "")
	var te *chaos.ThrottleError
	if !errors.As(err, &te) || te.RetryAfter != 1500*time.Millisecond || te.Target != "model" || te.RetryAfterSeconds() != "2" {
		t.Fatalf("throttle err = %#v", err)
	}
	if !errors.Is(err, chaos.ErrThrottled) || errors.Is(err, chaos.ErrOutage) {
		t.Fatalf("throttle error matches the wrong sentinels: %v", err)
	}
	_, err = in.Inject(ctx, chaos.Tool("search"), "")
	var oe *chaos.OutageError
	if !errors.As(err, &oe) || oe.Target != "tool:search" || !errors.Is(err, chaos.ErrOutage) || errors.Is(err, chaos.ErrThrottled) {
		t.Fatalf("outage err = %#v", err)
	}
	for _, e := range []error{te, oe, fmt.Errorf("wrapped: %w", oe)} {
		var u interface{ Unavailable() bool }
		if !errors.As(e, &u) || !u.Unavailable() {
			t.Fatalf("%v does not report Unavailable() == true", e)
		}
	}
	mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Tools(), Probability: 1})
	_, err = in.Inject(ctx, chaos.Tool("other"), "")
	if !errors.As(err, &te) || te.RetryAfter != chaos.DefaultRetryAfter {
		t.Fatalf("default retry after: %#v", err)
	}
}

func TestEvaluationOrder(t *testing.T) {
	obs := &counter{}
	in, fc := newInjector(t, chaos.WithObserver(obs))
	// Set in the reverse of the evaluation order.
	mustSet(t, in, chaos.Spec{Mode: chaos.Malformed, Target: chaos.Model(), Probability: 1})
	mustSet(t, in, chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Probability: 1})
	mustSet(t, in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1})
	mustSet(t, in, chaos.Spec{Mode: chaos.Latency, Target: chaos.Model(), Probability: 1, Latency: time.Second})
	done := make(chan error, 1)
	var eff chaos.Effect
	go func() {
		var err error
		eff, err = in.Inject(context.Background(), chaos.Model(), "")
		done <- err
	}()
	waitTimers(t, fc, 1)
	fc.Advance(time.Second)
	err := <-done
	if !errors.Is(err, chaos.ErrOutage) || eff.Delay != time.Second || eff.Malformed() {
		t.Fatalf("Inject = %+v, %v; want 1s delay then outage", eff, err)
	}
	if obs.get("latency model") != 1 || obs.get("outage model") != 1 || obs.total() != 2 {
		t.Fatalf("observer saw %v; want one latency and one outage", obs.n)
	}
}

func TestMalformedEffect(t *testing.T) {
	obs := &counter{}
	in, _ := newInjector(t, chaos.WithObserver(obs))
	mustSet(t, in, chaos.Spec{Mode: chaos.Malformed, Target: chaos.Tool("search"), Probability: 1})
	payload := []byte(`{"query":"weather in Paris","limit":5}`)
	eff, err := in.Inject(context.Background(), chaos.Tool("search"), "")
	if err != nil || !eff.Malformed() {
		t.Fatalf("Inject = %+v, %v", eff, err)
	}
	out := eff.Corrupt(payload)
	if bytes.Equal(out, payload) || isObject(out) {
		t.Fatalf("Corrupt left a well-formed object: %s", out)
	}
	if !bytes.Equal(eff.Corrupt(payload), out) {
		t.Fatal("the same Effect corrupted the same payload differently")
	}
	if got := (chaos.Effect{}).Corrupt(payload); !bytes.Equal(got, payload) {
		t.Fatalf("an Effect without Malformed changed the payload: %s", got)
	}
	if obs.get("malformed tool:search") != 1 {
		t.Fatalf("observer = %v", obs.n)
	}
}

func isObject(p []byte) bool {
	var m map[string]any
	return json.Unmarshal(p, &m) == nil && m != nil
}

func TestCorruptNeverYieldsAnObject(t *testing.T) {
	payloads := []string{
		`{}`, `{"a":1}`, `{"query":"x","n":[1,2,{"b":null}]}`, `[]`, `"s"`, `1`, ``, `x`,
		`{"a":"it's"}`, ` { "a" : true } `, `{"nested":{"deep":{"deeper":"v"}}}`,
	}
	seen := map[string]bool{}
	for _, p := range payloads {
		for seed := range uint64(200) {
			in := []byte(p)
			orig := bytes.Clone(in)
			out := chaos.Corrupt(in, rand.New(rand.NewPCG(seed, 1)))
			if !bytes.Equal(in, orig) {
				t.Fatalf("Corrupt modified its input %q", p)
			}
			if bytes.Equal(out, in) {
				t.Fatalf("Corrupt(%q, seed %d) returned it unchanged", p, seed)
			}
			if isObject(out) {
				t.Fatalf("Corrupt(%q, seed %d) = %q, still a JSON object", p, seed, out)
			}
			if again := chaos.Corrupt(in, rand.New(rand.NewPCG(seed, 1))); !bytes.Equal(again, out) {
				t.Fatalf("Corrupt is not deterministic for seed %d", seed)
			}
			if p == `{"a":1}` {
				seen[string(out)] = true
			}
		}
	}
	if len(seen) < 5 {
		t.Fatalf("only %d distinct corruptions of one payload over 200 seeds", len(seen))
	}
}

func TestSpecValidate(t *testing.T) {
	ok := chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 0.5}
	tests := []struct {
		name   string
		mutate func(*chaos.Spec)
		valid  bool
	}{
		{"valid", func(*chaos.Spec) {}, true},
		{"zero mode", func(s *chaos.Spec) { s.Mode = 0 }, false},
		{"mode out of range", func(s *chaos.Spec) { s.Mode = 9 }, false},
		{"zero target", func(s *chaos.Spec) { s.Target = chaos.Target{} }, false},
		{"empty tool name", func(s *chaos.Spec) { s.Target = chaos.Tool("") }, false},
		{"tool name with space", func(s *chaos.Spec) { s.Target = chaos.Tool("a b") }, false},
		{"probability 0", func(s *chaos.Spec) { s.Probability = 0 }, true},
		{"probability 1", func(s *chaos.Spec) { s.Probability = 1 }, true},
		{"probability above 1", func(s *chaos.Spec) { s.Probability = 1.0000001 }, false},
		{"negative probability", func(s *chaos.Spec) { s.Probability = -0.1 }, false},
		{"NaN probability", func(s *chaos.Spec) { s.Probability = math.NaN() }, false},
		{"infinite probability", func(s *chaos.Spec) { s.Probability = math.Inf(1) }, false},
		{"max TTL", func(s *chaos.Spec) { s.TTL = chaos.MaxTTL }, true},
		{"TTL over max", func(s *chaos.Spec) { s.TTL = chaos.MaxTTL + 1 }, false},
		{"negative TTL", func(s *chaos.Spec) { s.TTL = -1 }, false},
		{"latency on outage", func(s *chaos.Spec) { s.Latency = time.Second }, false},
		{"retry after on outage", func(s *chaos.Spec) { s.RetryAfter = time.Second }, false},
		{"latency mode without latency", func(s *chaos.Spec) { s.Mode = chaos.Latency }, false},
		{"latency mode", func(s *chaos.Spec) { s.Mode, s.Latency = chaos.Latency, time.Second }, true},
		{"latency over max", func(s *chaos.Spec) { s.Mode, s.Latency = chaos.Latency, chaos.MaxLatency+1 }, false},
		{"throttle retry after", func(s *chaos.Spec) { s.Mode, s.RetryAfter = chaos.Throttle, time.Minute }, true},
		{"throttle retry after over max", func(s *chaos.Spec) { s.Mode, s.RetryAfter = chaos.Throttle, 2*time.Hour }, false},
		{"tenant control char", func(s *chaos.Spec) { s.Tenant = "a\nb" }, false},
		{"tenant too long", func(s *chaos.Spec) { s.Tenant = string(make([]byte, chaos.MaxTenantLen+1)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.mutate(&s)
			err := s.Validate()
			if (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid=%v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, chaos.ErrInvalidFault) {
				t.Fatalf("error %v does not match ErrInvalidFault", err)
			}
			in, _ := newInjector(t)
			if _, err := in.Set(context.Background(), s); (err == nil) != tt.valid {
				t.Fatalf("Set() = %v, want valid=%v", err, tt.valid)
			}
		})
	}
}

func TestParseAndString(t *testing.T) {
	for _, m := range []chaos.Mode{chaos.Throttle, chaos.Malformed, chaos.Outage, chaos.Latency} {
		got, err := chaos.ParseMode(m.String())
		if err != nil || got != m {
			t.Fatalf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if chaos.Mode(0).String() != "unknown" || chaos.TargetKind(0).String() != "unknown" {
		t.Fatal("zero enums do not print as unknown")
	}
	for _, s := range []string{"model", "tools", "tool:web_search"} {
		tg, err := chaos.ParseTarget(s)
		if err != nil || tg.String() != s {
			t.Fatalf("ParseTarget(%q) = %v, %v", s, tg, err)
		}
	}
	if tg, _ := chaos.ParseTarget("tool:x"); tg.Kind() != chaos.TargetTool || tg.ToolName() != "x" {
		t.Fatalf("ParseTarget(tool:x) = %+v", tg)
	}
	for _, s := range []string{"", "Model", "tool:", "tool", "tools:", "tool:a b", "tool:\x00"} {
		if _, err := chaos.ParseTarget(s); !errors.Is(err, chaos.ErrInvalidFault) {
			t.Fatalf("ParseTarget(%q) err = %v", s, err)
		}
	}
	if _, err := chaos.ParseMode("Outage"); !errors.Is(err, chaos.ErrInvalidFault) {
		t.Fatalf("ParseMode is not exact: %v", err)
	}
}

func TestLoad(t *testing.T) {
	in, fc := newInjector(t)
	now := fc.Now()
	mk := func(id string, tool string, exp time.Duration) chaos.Fault {
		return chaos.Fault{
			Spec:      chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool(tool), Probability: 1, TTL: time.Hour},
			ID:        id,
			ExpiresAt: now.Add(exp),
		}
	}
	bad := mk("bad", "x", time.Hour)
	bad.Probability = 2
	err := in.Load([]chaos.Fault{mk("a", "a", time.Hour), mk("gone", "b", -time.Second), bad, mk("c", "c", time.Minute), mk("c2", "c", 2*time.Minute)})
	if !errors.Is(err, chaos.ErrInvalidFault) {
		t.Fatalf("Load with an invalid fault: err = %v", err)
	}
	fs, _ := in.Faults(context.Background())
	if len(fs) != 2 || fs[0].ID != "a" || fs[1].ID != "c2" {
		t.Fatalf("loaded %+v; want a and c2", fs)
	}
	var many []chaos.Fault
	for i := range chaos.MaxFaults + 2 {
		many = append(many, mk(fmt.Sprint(i), fmt.Sprint("t", i), time.Hour))
	}
	if err := in.Load(many); !errors.Is(err, chaos.ErrTooManyFaults) {
		t.Fatalf("Load over the bound: err = %v", err)
	}
	if fs, _ := in.Faults(context.Background()); len(fs) != chaos.MaxFaults {
		t.Fatalf("%d faults loaded, want %d", len(fs), chaos.MaxFaults)
	}
	if err := in.Load(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Inject(context.Background(), chaos.Tool("t0"), ""); err != nil {
		t.Fatalf("Load(nil) left faults active: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]chaos.Option{
		"nil option":   nil,
		"nil clock":    chaos.WithClock(nil),
		"nil observer": chaos.WithObserver(nil),
		"nil source":   chaos.WithRandSource(nil),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := chaos.New(opt); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestConcurrentToggle calls the injector from 100 goroutines while faults
// are set and cleared, and checks that the observer counted exactly the
// injections the callers saw.
func TestConcurrentToggle(t *testing.T) {
	obs := &counter{}
	in, _ := newInjector(t, chaos.WithObserver(obs))
	ctx := context.Background()
	const goroutines, calls = 100, 2000
	specs := []chaos.Spec{
		{Mode: chaos.Outage, Target: chaos.Tools(), Probability: 0.5},
		{Mode: chaos.Malformed, Target: chaos.Tool("t7"), Probability: 1},
		{Mode: chaos.Throttle, Target: chaos.Model(), Tenant: "acme", Probability: 0.25},
	}
	// Start with every fault active, so that injections happen even if
	// the toggler is scheduled late.
	for _, s := range specs {
		mustSet(t, in, s)
	}
	var seen atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	toggles := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				toggles <- n
				return
			default:
			}
			if n%(len(specs)+1) == len(specs) {
				_, _ = in.Clear(ctx)
			} else {
				_, _ = in.Set(ctx, specs[n%(len(specs)+1)])
			}
			n++
			runtime.Gosched()
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := chaos.Tool(fmt.Sprint("t", g%10))
			if g%3 == 0 {
				at = chaos.Model()
			}
			for range calls {
				eff, err := in.Inject(ctx, at, "acme")
				if err != nil {
					var u interface{ Unavailable() bool }
					if !errors.As(err, &u) {
						t.Errorf("unexpected error %v", err)
						return
					}
					seen.Add(1)
				}
				if eff.Malformed() {
					seen.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	t.Logf("%d toggles during %d calls", <-toggles, goroutines*calls)
	if got, want := obs.total(), int(seen.Load()); got != want {
		t.Fatalf("observer counted %d injections, callers saw %d", got, want)
	}
	if seen.Load() == 0 {
		t.Fatal("no injection happened while faults were toggled")
	}
}
