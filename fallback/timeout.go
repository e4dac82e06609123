package fallback

import (
	"context"
	"errors"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// stepContext is the context a step with a timeout runs with: a child of the
// caller's context canceled with cause ErrStepTimeout when the step's timer
// (from the chain's clock) fires. It reports that deadline and, once cut,
// context.DeadlineExceeded, like a context.WithTimeout would.
type stepContext struct {
	context.Context
	deadline time.Time
}

func (c *stepContext) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *stepContext) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), ErrStepTimeout) {
		return context.DeadlineExceeded
	}
	return err
}

type cutResult[Out any] struct {
	out      Out
	err      error
	panicked bool
	panicVal any
}

// callCut calls fn on its own goroutine and waits for it, for the timeout d,
// or for the caller's context, whichever comes first. When the timeout or
// the caller wins, fn's context is canceled and callCut returns at once;
// fn's goroutine ends when fn returns and its result is dropped. A panic in
// fn is raised again on the caller's goroutine when the caller still waits.
func callCut[In, Out any](ctx context.Context, clk clock.Clock, d time.Duration, fn func(context.Context, In) (Out, error), in In) (out Out, err error, timedOut bool) {
	cctx, cancel := context.WithCancelCause(ctx)
	sctx := &stepContext{Context: cctx, deadline: clk.Now().Add(d)}
	timer := clk.NewTimer(d)
	done := make(chan cutResult[Out], 1)
	go func() {
		var r cutResult[Out]
		defer func() {
			if p := recover(); p != nil {
				r.panicked, r.panicVal = true, p
			}
			done <- r
		}()
		r.out, r.err = fn(sctx, in)
	}()
	select {
	case r := <-done:
		timer.Stop()
		cancel(nil)
		if r.panicked {
			panic(r.panicVal)
		}
		return r.out, r.err, false
	case <-timer.C():
		cancel(ErrStepTimeout)
		return out, nil, true
	case <-ctx.Done():
		timer.Stop()
		cancel(context.Cause(ctx))
		return out, ctx.Err(), false
	}
}
