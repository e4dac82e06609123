package fallback_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/fallback"
)

// The breakers run on gobreaker's wall clock, so these tests use a short
// open timeout and wait (bounded) for the half-open state; they assert states
// and counts, never durations.
const shortOpen = 20 * time.Millisecond

func stateIs(c *fallback.Chain[string, string], tool string, want fallback.State) func() bool {
	return func() bool { st, _ := c.State(tool); return st == want }
}

func TestBreakerStateMachine(t *testing.T) {
	rec := &recorder{}
	down := fallback.ErrUnavailable
	search := newTool(fails(down))
	snapshot := newTool(serves("cached"))
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", search.call, fallback.WithFailureThreshold(3),
			fallback.WithOpenTimeout(shortOpen), fallback.WithHalfOpenProbes(2)),
		fallback.NewStep("snapshot", snapshot.call),
	}, fallback.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	do := func() fallback.Result[string] {
		t.Helper()
		r, err := c.Do(ctx, "q")
		if err != nil || r.Step != "snapshot" && r.Step != "search" {
			t.Fatalf("Do = %+v, %v", r, err)
		}
		return r
	}

	// Closed: failures are counted; the third consecutive one opens it.
	for i := 1; i <= 3; i++ {
		do()
		want := fallback.StateClosed
		if i == 3 {
			want = fallback.StateOpen
		}
		if st, _ := c.State("search"); st != want {
			t.Fatalf("after %d failures: %v, want %v", i, st, want)
		}
	}

	// Open: fails fast, the tool is not called.
	rec.reset()
	for range 5 {
		if r := do(); r.Calls != 1 || r.Step != "snapshot" {
			t.Fatalf("while open: %+v", r)
		}
	}
	if n := search.calls.Load(); n != 3 {
		t.Fatalf("search called %d times, want 3 (none while open)", n)
	}
	for _, ev := range rec.toolEvents() {
		if ev.Tool == "search" && (ev.Reason != fallback.ReasonBreakerOpen || !errors.Is(ev.Err, gobreaker.ErrOpenState) ||
			!errors.Is(ev.Err, fallback.ErrBreakerOpen)) {
			t.Fatalf("while open: %+v", ev)
		}
	}

	// Half-open after the timeout; it admits exactly two probes at once.
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	search.set(func(context.Context, string) (string, error) {
		entered <- struct{}{}
		<-release
		return "fresh", nil
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if r := do(); r.Step != "search" {
				t.Errorf("probe served by %s", r.Step)
			}
		})
	}
	<-entered
	<-entered
	rec.reset()
	if r := do(); r.Step != "snapshot" || r.Calls != 1 {
		t.Fatalf("third call while two probes are in flight: %+v", r)
	}
	evs := rec.toolEvents()
	if len(evs) == 0 || evs[0].Reason != fallback.ReasonBreakerOpen || !errors.Is(evs[0].Err, gobreaker.ErrTooManyRequests) {
		t.Fatalf("third call's events: %+v", evs)
	}
	// One success is not enough with two probes configured.
	close(release)
	wg.Wait()
	if st, _ := c.State("search"); st != fallback.StateClosed {
		t.Fatalf("after 2 successful probes: %v, want closed", st)
	}
	if n := search.calls.Load(); n != 5 {
		t.Fatalf("search called %d times, want 5", n)
	}

	// Closed again; open it once more, then a failed probe reopens it.
	search.set(fails(down))
	for range 3 {
		do()
	}
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))
	do()
	if st, _ := c.State("search"); st != fallback.StateOpen {
		t.Fatalf("after a failed probe: %v, want open", st)
	}
}

// TestBreakerTransitionsObserved checks the whole sequence of transitions the
// observer sees, with an observer that calls back into the chain.
func TestBreakerTransitionsObserved(t *testing.T) {
	var (
		mu     sync.Mutex
		events []fallback.BreakerEvent
		states []fallback.StepState
		c      *fallback.Chain[string, string]
	)
	obs := fallback.ObserverFuncs{OnBreakerChange: func(ev fallback.BreakerEvent) {
		s := c.States() // calling back must not deadlock
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		states = append(states, s[0])
	}}
	search := newTool(fails(fallback.ErrUnavailable))
	var err error
	c, err = fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", search.call, fallback.WithFailureThreshold(2), fallback.WithOpenTimeout(shortOpen)),
		fallback.NewStep("static", serves("kb")),
	}, fallback.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func() {
		if _, err := c.Do(ctx, "q"); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run() // opens
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))
	run() // failed probe: reopens
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))
	search.set(serves("fresh"))
	run() // successful probe: closes

	want := []fallback.BreakerEvent{
		{Chain: "lookup", Tool: "search", From: fallback.StateClosed, To: fallback.StateOpen},
		{Chain: "lookup", Tool: "search", From: fallback.StateOpen, To: fallback.StateHalfOpen},
		{Chain: "lookup", Tool: "search", From: fallback.StateHalfOpen, To: fallback.StateOpen},
		{Chain: "lookup", Tool: "search", From: fallback.StateOpen, To: fallback.StateHalfOpen},
		{Chain: "lookup", Tool: "search", From: fallback.StateHalfOpen, To: fallback.StateClosed},
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, want) {
		t.Fatalf("transitions:\n got %v\nwant %v", events, want)
	}
	for i, s := range states {
		if s.State != want[i].To {
			t.Errorf("States() inside the observer for %v = %v", want[i], s)
		}
	}
}

func TestAllBreakersOpenFailFast(t *testing.T) {
	a := newTool(fails(fallback.ErrUnavailable))
	b := newTool(fails(chaosFault{}))
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("a", a.call, fallback.WithFailureThreshold(1)),
		fallback.NewStep("b", b.call, fallback.WithFailureThreshold(1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Do(ctx, "q"); !errors.Is(err, fallback.ErrNoToolAvailable) {
		t.Fatalf("first call: %v", err)
	}
	for range 10 {
		r, err := c.Do(ctx, "q")
		var ex *fallback.ExhaustedError
		if !errors.As(err, &ex) || r.Calls != 0 || r.Tried != 2 || len(ex.Steps) != 2 {
			t.Fatalf("Do = %+v, %v", r, err)
		}
		for _, s := range ex.Steps {
			if s.Reason != fallback.ReasonBreakerOpen || !errors.Is(s, fallback.ErrBreakerOpen) {
				t.Fatalf("step %+v", s)
			}
		}
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Fatalf("calls a=%d b=%d, want 1 each", a.calls.Load(), b.calls.Load())
	}
}

// TestHungProbeCutByTimeout: a half-open probe that never returns (it ignores
// its context) is cut by the step timeout, which counts as a failure, so the
// breaker reopens instead of staying half-open with its probe slot taken.
func TestHungProbeCutByTimeout(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	hang := make(chan struct{})
	defer close(hang)
	search := newTool(fails(fallback.ErrUnavailable))
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", search.call, fallback.WithTimeout(time.Second),
			fallback.WithFailureThreshold(1), fallback.WithOpenTimeout(shortOpen)),
		fallback.NewStep("static", serves("kb")),
	}, fallback.WithClock(fake))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r, err := c.Do(ctx, "q"); err != nil || r.Step != "static" {
		t.Fatalf("Do = %+v, %v", r, err)
	}
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))

	search.set(func(context.Context, string) (string, error) {
		<-hang // ignores ctx
		return "late", nil
	})
	type res struct {
		r   fallback.Result[string]
		err error
	}
	done := make(chan res, 1)
	go func() {
		r, err := c.Do(ctx, "q")
		done <- res{r, err}
	}()
	waitFor(t, "the probe's timer", func() bool { return fake.Timers() == 1 })
	// While the probe hangs, the breaker is half-open with its only probe slot
	// taken: other calls fall through without calling search.
	if r, err := c.Do(ctx, "q"); err != nil || r.Step != "static" || r.Calls != 1 {
		t.Fatalf("call during the probe: %+v, %v", r, err)
	}
	fake.Advance(time.Second)
	got := <-done
	if got.err != nil || got.r.Step != "static" {
		t.Fatalf("probe call = %+v, %v", got.r, got.err)
	}
	if st, _ := c.State("search"); st != fallback.StateOpen {
		t.Fatalf("after the hung probe was cut: %v, want open", st)
	}
	// And it recovers: the next probe succeeds and closes the breaker.
	waitFor(t, "half-open", stateIs(c, "search", fallback.StateHalfOpen))
	search.set(serves("fresh"))
	if r, err := c.Do(ctx, "q"); err != nil || r.Step != "search" {
		t.Fatalf("Do = %+v, %v", r, err)
	}
	if st, _ := c.State("search"); st != fallback.StateClosed {
		t.Fatalf("after a good probe: %v, want closed", st)
	}
	if n := search.calls.Load(); n != 3 {
		t.Fatalf("search called %d times, want 3", n)
	}
}

// TestNonFallthroughErrorIsBreakerSuccess: a tool that answers with an error
// that is the caller's to handle is reachable; it does not open its breaker.
func TestNonFallthroughErrorIsBreakerSuccess(t *testing.T) {
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", fails(errBadInput), fallback.WithFailureThreshold(1)),
		fallback.NewStep("static", serves("kb")),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Do(context.Background(), "q"); !errors.Is(err, errBadInput) {
			t.Fatalf("err = %v", err)
		}
	}
	if st, _ := c.State("search"); st != fallback.StateClosed {
		t.Fatalf("breaker %v, want closed", st)
	}
}
