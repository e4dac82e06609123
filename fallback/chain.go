package fallback

import (
	"context"
	"errors"
	"fmt"

	"github.com/llmops-go/llmops/clock"
)

// Chain calls its steps in order until one serves. It is safe for concurrent
// use by multiple goroutines; its breakers are shared by all callers.
type Chain[In, Out any] struct {
	name     string
	steps    []step[In, Out]
	observer Observer
	classify func(error) bool
	clock    clock.Clock
}

// Result is what a call of a chain produced.
type Result[Out any] struct {
	// Value is the serving step's value.
	Value Out
	// Step is the name of the tool that served. When the serving step is a
	// nested chain, it is the name of the nested chain's serving step.
	Step string
	// Index is the position of the serving step in this chain, from 0.
	Index int
	// Tried is the number of this chain's steps the call reached, the
	// serving one included; steps whose breaker rejected the call count.
	Tried int
	// Calls is the number of tool functions actually called, nested chains
	// included. Steps rejected by their breaker are not called.
	Calls int
	// Fallback reports whether the call was served by a fallback: some step
	// before the serving one, in this chain or a nested one, was reached and
	// did not serve.
	Fallback bool
}

// New builds a chain named name from steps, tried in the order given.
//
// It returns an error matching ErrInvalidConfig when name is empty, steps is
// empty, a step has an empty or duplicate name, a nil function or nil nested
// chain, a nested step has options, or an option is out of range.
func New[In, Out any](name string, steps []Step[In, Out], opts ...Option) (*Chain[In, Out], error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty chain name", ErrInvalidConfig)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%w: chain %q has no steps", ErrInvalidConfig, name)
	}
	cfg := defaultChainConfig()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: chain %q: nil option", ErrInvalidConfig, name)
		}
		o.applyChain(&cfg)
	}
	c := &Chain[In, Out]{
		name:     name,
		steps:    make([]step[In, Out], len(steps)),
		observer: cfg.observer,
		classify: cfg.classify,
		clock:    cfg.clock,
	}
	seen := make(map[string]bool, len(steps))
	for i, st := range steps {
		if st.name == "" {
			return nil, fmt.Errorf("%w: chain %q: step %d has no name", ErrInvalidConfig, name, i)
		}
		if seen[st.name] {
			return nil, fmt.Errorf("%w: chain %q: duplicate step name %q", ErrInvalidConfig, name, st.name)
		}
		seen[st.name] = true
		sc := defaultStepConfig()
		for _, o := range st.opts {
			if o == nil {
				return nil, fmt.Errorf("%w: chain %q: step %q: nil option", ErrInvalidConfig, name, st.name)
			}
			o.applyStep(&sc)
		}
		s := &c.steps[i]
		s.name = st.name
		switch {
		case st.fn == nil && st.nested == nil:
			return nil, fmt.Errorf("%w: chain %q: step %q has no function", ErrInvalidConfig, name, st.name)
		case st.nested != nil:
			if sc.set > 0 {
				return nil, fmt.Errorf("%w: chain %q: nested step %q takes no options", ErrInvalidConfig, name, st.name)
			}
			s.nested = st.nested
		default:
			if err := sc.validate(); err != nil {
				return nil, fmt.Errorf("chain %q: step %q: %w", name, st.name, err)
			}
			s.fn = st.fn
			s.timeout = sc.timeout
			s.cb = newBreaker(name, st.name, &sc, &s.changes, c.observer != nil)
		}
	}
	return c, nil
}

// Name returns the chain's name.
func (c *Chain[In, Out]) Name() string { return c.name }

// Call is Do without the Result's details, so that a chain can stand where a
// plain tool function is expected. (To put a chain inside another chain, use
// Nested: a chain passed to NewStep would get a breaker of its own and spend
// an attempt of the budget.)
func (c *Chain[In, Out]) Call(ctx context.Context, in In) (Out, error) {
	r, err := c.Do(ctx, in)
	return r.Value, err
}

// States returns the breaker state of every step that has one, in chain
// order. Reading a state can move an open breaker whose timeout has passed to
// half-open; the Observer sees that transition.
func (c *Chain[In, Out]) States() []StepState {
	out := make([]StepState, 0, len(c.steps))
	for i := range c.steps {
		s := &c.steps[i]
		if s.cb == nil {
			continue
		}
		out = append(out, StepState{Tool: s.name, State: stateOf(s.cb.State())})
		c.flush(s)
	}
	return out
}

// State returns the breaker state of the step named tool, and false when the
// chain has no such step or the step is a nested chain.
func (c *Chain[In, Out]) State(tool string) (State, bool) {
	for i := range c.steps {
		s := &c.steps[i]
		if s.name == tool && s.cb != nil {
			st := stateOf(s.cb.State())
			c.flush(s)
			return st, true
		}
	}
	return 0, false
}

// Do calls the steps in order and returns the first value served.
//
// A step's error moves the call on to the next step when it falls through:
// it matches ErrUnavailable or ErrNoToolAvailable, it has a method
// Unavailable() bool that reports true, the step's breaker rejected the call,
// the step's own timeout cut it, or the chain's classifier accepts it. When
// every step falls through, Do returns an *ExhaustedError (matching
// ErrNoToolAvailable) carrying each step's error.
//
// Any other error ends the call at once and is returned as it is. So does the
// caller's cancellation (the error then matches ctx.Err()); it never counts
// against a breaker. When the attempt budget in ctx is spent, the call ends
// with an *ExhaustedError that also matches ErrAttemptBudgetExhausted.
func (c *Chain[In, Out]) Do(ctx context.Context, in In) (Result[Out], error) {
	b := budgetFrom(ctx)
	s := &c.steps[0]
	if s.cb == nil || b != nil || s.timeout > 0 || ctx.Err() != nil {
		return c.do(ctx, in, b, true, nil)
	}
	// The common case, kept short: the first step runs on the caller's
	// goroutine with no budget to spend, and usually serves.
	var a attempt[Out]
	_, a.rejected = s.cb.Execute(func() (struct{}, error) {
		a.called = true
		out, err := s.fn(ctx, in)
		if err != nil {
			return struct{}{}, c.judge(ctx, err, false, &a)
		}
		a.out, a.reason = out, ReasonServed
		return struct{}{}, nil
	})
	if a.reason != ReasonServed || s.changes.pending.Load() {
		return c.do(ctx, in, b, true, &a)
	}
	if c.observer != nil {
		c.emit(ctx, s, 0, StatusSuccess, ReasonServed, nil)
	}
	return Result[Out]{Value: a.out, Step: s.name, Tried: 1, Calls: 1}, nil
}

// attempt is what one leaf step's call came to.
type attempt[Out any] struct {
	out      Out
	err      error
	rejected error // what the breaker's Execute returned
	reason   Reason
	called   bool
}

// do runs the chain. final reports whether nothing follows this chain when
// it has no tool available (false for a nested chain that is not the last
// step of the chains around it): it decides whether this chain's last step
// reports "fallback" or "failure". first, when not nil, is the outcome of the
// call of the first step that Do already made.
func (c *Chain[In, Out]) do(ctx context.Context, in In, b *attemptBudget, final bool, first *attempt[Out]) (Result[Out], error) {
	var (
		buf    [4]StepError // steps that fell through; copied out only when the call fails
		failed = buf[:0]
		calls  int
	)
	n := len(c.steps)
	for i := range c.steps {
		s := &c.steps[i]
		last := final && i == n-1

		if s.nested != nil {
			r, err := s.nested.do(ctx, in, b, last, nil)
			calls += r.Calls
			switch {
			case err == nil:
				return Result[Out]{Value: r.Value, Step: r.Step, Index: i, Tried: i + 1, Calls: calls, Fallback: i > 0 || r.Fallback}, nil
			case errors.Is(err, ErrAttemptBudgetExhausted):
				failed = append(failed, StepError{Step: s.name, Reason: ReasonBudget, Err: err})
				return Result[Out]{Tried: i + 1, Calls: calls}, c.exhausted(failed)
			case errors.Is(err, ErrNoToolAvailable):
				failed = append(failed, StepError{Step: s.name, Reason: ReasonUnavailable, Err: err})
				continue
			default:
				return Result[Out]{Tried: i + 1, Calls: calls}, err
			}
		}

		var a attempt[Out]
		if i == 0 && first != nil {
			a = *first
		} else {
			if err := ctx.Err(); err != nil {
				c.emit(ctx, s, i, StatusFailure, ReasonCanceled, err)
				return Result[Out]{Tried: i + 1, Calls: calls}, err
			}
			_, a.rejected = s.cb.Execute(func() (struct{}, error) {
				return struct{}{}, c.invoke(ctx, s, in, b, &a)
			})
		}
		if s.changes.pending.Load() {
			c.flush(s)
		}
		if a.called {
			calls++
		}
		if a.reason == 0 { // the breaker rejected the call
			a.reason, a.err = ReasonBreakerOpen, rejection(a.rejected)
		}
		switch a.reason {
		case ReasonServed:
			c.emit(ctx, s, i, StatusSuccess, ReasonServed, nil)
			return Result[Out]{Value: a.out, Step: s.name, Index: i, Tried: i + 1, Calls: calls, Fallback: i > 0}, nil
		case ReasonUnavailable, ReasonTimeout, ReasonBreakerOpen:
			status := StatusFallback
			if last {
				status = StatusFailure
			}
			c.emit(ctx, s, i, status, a.reason, a.err)
			failed = append(failed, StepError{Step: s.name, Reason: a.reason, Err: a.err})
		case ReasonBudget:
			c.emit(ctx, s, i, StatusFailure, a.reason, a.err)
			failed = append(failed, StepError{Step: s.name, Reason: a.reason, Err: a.err})
			return Result[Out]{Tried: i + 1, Calls: calls}, c.exhausted(failed)
		default: // ReasonError, ReasonCanceled
			c.emit(ctx, s, i, StatusFailure, a.reason, a.err)
			return Result[Out]{Tried: i + 1, Calls: calls}, a.err
		}
	}
	return Result[Out]{Tried: n, Calls: calls}, c.exhausted(failed)
}

// invoke runs inside the step's breaker, which has admitted the call. It
// records the outcome in a and returns what the breaker should count: nil
// (success), verdictFailure or verdictExcluded.
func (c *Chain[In, Out]) invoke(ctx context.Context, s *step[In, Out], in In, b *attemptBudget, a *attempt[Out]) error {
	if b != nil && !b.take() {
		a.reason, a.err = ReasonBudget, ErrAttemptBudgetExhausted
		return verdictExcluded
	}
	a.called = true
	var (
		out      Out
		err      error
		timedOut bool
	)
	if s.timeout > 0 {
		out, err, timedOut = callCut(ctx, c.clock, s.timeout, s.fn, in)
	} else {
		out, err = s.fn(ctx, in)
	}
	if err == nil && !timedOut {
		a.out, a.reason = out, ReasonServed
		return nil
	}
	return c.judge(ctx, err, timedOut, a)
}

// judge classifies a step's failed call.
func (c *Chain[In, Out]) judge(ctx context.Context, err error, timedOut bool, a *attempt[Out]) error {
	switch {
	case ctx.Err() != nil:
		a.reason, a.err = ReasonCanceled, withCtxErr(ctx.Err(), err)
		return verdictExcluded
	case timedOut:
		a.reason, a.err = ReasonTimeout, &timeoutError{err: err}
		return verdictFailure
	case errors.Is(err, ErrAttemptBudgetExhausted):
		// A tool that itself ran a chain with this request's budget.
		a.reason, a.err = ReasonBudget, err
		return verdictExcluded
	case fallsThrough(err, c.classify):
		a.reason, a.err = ReasonUnavailable, err
		return verdictFailure
	default:
		// The tool answered, with an error that is the caller's to handle:
		// it is reachable, so its breaker counts a success.
		a.reason, a.err = ReasonError, err
		return nil
	}
}

func withCtxErr(ctxErr, err error) error {
	if err == nil || errors.Is(err, ctxErr) {
		return ctxErr
	}
	return &canceledError{ctxErr: ctxErr, err: err}
}

func (c *Chain[In, Out]) emit(ctx context.Context, s *step[In, Out], i int, st Status, r Reason, err error) {
	if c.observer != nil {
		c.observer.ToolOutcome(ctx, ToolEvent{Chain: c.name, Tool: s.name, Index: i, Status: st, Reason: r, Err: err})
	}
}

func (c *Chain[In, Out]) flush(s *step[In, Out]) {
	if c.observer != nil {
		s.changes.flush(c.observer)
	}
}

func (c *Chain[In, Out]) exhausted(failed []StepError) error {
	steps := make([]*StepError, len(failed))
	for i := range failed {
		e := failed[i]
		steps[i] = &e
	}
	return &ExhaustedError{Chain: c.name, Steps: steps}
}
