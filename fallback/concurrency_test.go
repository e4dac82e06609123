package fallback_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/fallback"
)

// counter is an Observer that counts events exactly, without locks on the
// tool path.
type counter struct {
	events [2][4][8]atomic.Int64 // [tool][status][reason]

	mu          sync.Mutex
	transitions []fallback.BreakerEvent
}

func toolIndex(name string) int {
	if name == "primary" {
		return 0
	}
	return 1
}

func (c *counter) ToolOutcome(_ context.Context, ev fallback.ToolEvent) {
	c.events[toolIndex(ev.Tool)][ev.Status][ev.Reason].Add(1)
}

func (c *counter) BreakerChange(ev fallback.BreakerEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.transitions = append(c.transitions, ev)
}

func (c *counter) count(tool int, st fallback.Status, r fallback.Reason) int64 {
	return c.events[tool][st][r].Load()
}

func (c *counter) total(tool int, st fallback.Status) int64 {
	var n int64
	for r := range c.events[tool][st] {
		n += c.events[tool][st][r].Load()
	}
	return n
}

func TestConcurrentFlakyPrimary(t *testing.T) {
	const (
		goroutines = 10
		perG       = 10_000
		total      = goroutines * perG
	)
	var primaryCalls, primaryOK, secondaryCalls atomic.Int64
	obs := &counter{}
	c, err := fallback.New("lookup", []fallback.Step[int, int]{
		fallback.NewStep("primary", func(_ context.Context, in int) (int, error) {
			n := primaryCalls.Add(1)
			// Bursts of 40 failures every 200 calls open the breaker; the
			// odd isolated failure in between does not.
			if n%200 < 40 || n%7 == 0 {
				return 0, fallback.ErrUnavailable
			}
			primaryOK.Add(1)
			return in, nil
		}, fallback.WithFailureThreshold(5), fallback.WithOpenTimeout(time.Millisecond)),
		fallback.NewStep("secondary", func(_ context.Context, in int) (int, error) {
			secondaryCalls.Add(1)
			return -in, nil
		}),
	}, fallback.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}

	var servedPrimary, servedSecondary, fellBack, calls atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				in := g*perG + i + 1
				r, err := c.Do(context.Background(), in)
				if err != nil {
					t.Errorf("Do: %v", err)
					return
				}
				switch {
				case r.Step == "primary" && r.Value == in && !r.Fallback && r.Calls == 1:
					servedPrimary.Add(1)
				case r.Step == "secondary" && r.Value == -in && r.Fallback && r.Index == 1:
					servedSecondary.Add(1)
				default:
					t.Errorf("result %+v for %d", r, in)
					return
				}
				if r.Fallback {
					fellBack.Add(1)
				}
				calls.Add(int64(r.Calls))
			}
		})
	}
	wg.Wait()
	states := c.States() // flushes any transition still queued

	const p, s = 0, 1
	ok, fb, fail := fallback.StatusSuccess, fallback.StatusFallback, fallback.StatusFailure
	check := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	check("served", servedPrimary.Load()+servedSecondary.Load(), total)
	check("primary successes vs served by primary", primaryOK.Load(), servedPrimary.Load())
	check("secondary calls vs served by secondary", secondaryCalls.Load(), servedSecondary.Load())
	check("Result.Calls sum", calls.Load(), primaryCalls.Load()+secondaryCalls.Load())
	check("primary success events", obs.total(p, ok), primaryOK.Load())
	check("primary success events (served)", obs.count(p, ok, fallback.ReasonServed), primaryOK.Load())
	check("primary fallback events", obs.total(p, fb), servedSecondary.Load())
	check("primary called+fell through",
		obs.count(p, fb, fallback.ReasonUnavailable), primaryCalls.Load()-primaryOK.Load())
	check("primary events for calls made",
		obs.count(p, ok, fallback.ReasonServed)+obs.count(p, fb, fallback.ReasonUnavailable), primaryCalls.Load())
	check("primary breaker rejections",
		obs.count(p, fb, fallback.ReasonBreakerOpen), total-primaryCalls.Load())
	check("secondary success events", obs.total(s, ok), secondaryCalls.Load())
	check("secondary fallback events", obs.total(s, fb), 0)
	check("failure events", obs.total(p, fail)+obs.total(s, fail), 0)
	check("terminal events", obs.total(p, ok)+obs.total(s, ok), total)
	check("fallbacks", fellBack.Load(), servedSecondary.Load())

	if obs.count(p, fb, fallback.ReasonBreakerOpen) == 0 {
		t.Error("the breaker never rejected a call; the test does not exercise it")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.transitions) == 0 {
		t.Fatal("no breaker transitions")
	}
	prev := fallback.StateClosed
	for i, ev := range obs.transitions {
		if ev.Tool != "primary" || ev.From != prev || ev.From == ev.To {
			t.Fatalf("transition %d: %+v after %v", i, ev, prev)
		}
		prev = ev.To
	}
	// The chain's view at the end agrees with the last transition seen,
	// unless the open timeout has passed since (open reads as half-open).
	if got := states[0].State; got != prev && !(prev == fallback.StateOpen && got == fallback.StateHalfOpen) {
		t.Errorf("States() = %v, last transition to %v", got, prev)
	}
}
