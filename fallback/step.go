package fallback

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Step describes one step of a chain; make it with NewStep or Nested. The
// zero Step is invalid and New rejects it.
type Step[In, Out any] struct {
	name   string
	fn     func(context.Context, In) (Out, error)
	nested *Chain[In, Out]
	opts   []StepOption
}

// NewStep describes a step named name (the tool's name, unique within its
// chain) that calls fn. Options set its timeout and breaker; errors in them
// are reported by New.
func NewStep[In, Out any](name string, fn func(ctx context.Context, in In) (Out, error), opts ...StepOption) Step[In, Out] {
	return Step[In, Out]{name: name, fn: fn, opts: opts}
}

// Nested describes a step that runs another chain. It has no breaker of its
// own (the nested chain's steps have theirs) and takes no options; it makes
// no tool call itself, so it spends nothing from the attempt budget, and it
// reports no ToolEvent (the nested chain's steps do). When the nested chain
// has no tool available, the call falls through to the next step.
func Nested[In, Out any](name string, chain *Chain[In, Out]) Step[In, Out] {
	return Step[In, Out]{name: name, nested: chain}
}

// step is a built step.
type step[In, Out any] struct {
	name    string
	fn      func(context.Context, In) (Out, error)
	nested  *Chain[In, Out]
	timeout time.Duration
	cb      *gobreaker.CircuitBreaker[struct{}]
	changes transitions
}

// verdict is what the function gobreaker executes returns to it when the
// step failed; the step's own error is kept aside. The two values are made
// once and never modified.
type verdict struct{ excluded bool }

func (v *verdict) Error() string {
	if v.excluded {
		return "fallback: not counted by the breaker"
	}
	return "fallback: breaker failure"
}

var (
	verdictFailure  error = &verdict{excluded: false}
	verdictExcluded error = &verdict{excluded: true}
)

func isExcluded(err error) bool {
	v, ok := err.(*verdict)
	return ok && v.excluded
}

func newBreaker(chain, name string, s *stepConfig, t *transitions, observed bool) *gobreaker.CircuitBreaker[struct{}] {
	threshold := uint32(s.threshold)
	st := gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(s.probes),
		Timeout:     s.openTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsExcluded:  isExcluded,
	}
	if observed {
		st.OnStateChange = func(name string, from, to gobreaker.State) {
			t.push(BreakerEvent{Chain: chain, Tool: name, From: stateOf(from), To: stateOf(to)})
		}
	}
	return gobreaker.NewCircuitBreaker[struct{}](st)
}

func stateOf(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	default:
		return StateClosed
	}
}

// transitions queues breaker transitions, which gobreaker reports with its
// lock held, so that they reach the Observer after the lock is released.
type transitions struct {
	pending atomic.Bool
	mu      sync.Mutex // guards q
	q       []BreakerEvent
	deliver sync.Mutex // held while events are handed to the Observer
}

func (t *transitions) push(ev BreakerEvent) {
	t.mu.Lock()
	t.q = append(t.q, ev)
	t.pending.Store(true)
	t.mu.Unlock()
}

// flush delivers queued events in order. When another goroutine (or the
// Observer itself, calling back) is already delivering, flush leaves the
// events to it: that goroutine re-checks pending before it lets go.
func (t *transitions) flush(o Observer) {
	for t.pending.Load() {
		if !t.deliver.TryLock() {
			return
		}
		for {
			t.mu.Lock()
			if len(t.q) == 0 {
				t.pending.Store(false)
				t.mu.Unlock()
				break
			}
			ev := t.q[0]
			t.q[0] = BreakerEvent{}
			t.q = t.q[1:]
			if len(t.q) == 0 {
				t.q = t.q[:0:0]
			}
			t.mu.Unlock()
			o.BreakerChange(ev)
		}
		t.deliver.Unlock()
	}
}
