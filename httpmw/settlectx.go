package httpmw

import (
	"context"
	"sync"
	"time"
)

// settleCtx is the context a reservation is settled on: detached from the
// request's cancellation (a client that hung up still owes what it spent)
// and bounded by the settle timeout. It behaves as
// context.WithDeadline(context.WithoutCancel(parent), deadline) but starts
// the deadline's timer only when a store asks for Done or Err, so settling
// into a store that never blocks (budget.Memory) costs no timer.
//
// The deadline is fixed the first time any method needs it (a settle into
// a store that never looks at its context does not even read the time).
type settleCtx struct {
	parent  context.Context // the request's context; its cancellation is ignored
	timeout time.Duration

	mu       sync.Mutex
	deadline time.Time
	ctx      context.Context
	cancel   context.CancelFunc
}

func newSettleCtx(parent context.Context, timeout time.Duration) *settleCtx {
	c := &settleCtx{}
	c.init(parent, timeout)
	return c
}

func (c *settleCtx) init(parent context.Context, timeout time.Duration) {
	c.parent, c.timeout = parent, timeout
}

// Deadline returns the settle deadline.
func (c *settleCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadlineLocked(), true
}

func (c *settleCtx) deadlineLocked() time.Time {
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.timeout)
	}
	return c.deadline
}

// Value defers to the request's context: its values (trace, tenant) stay
// visible.
func (c *settleCtx) Value(key any) any { return c.parent.Value(key) }

// Done starts the deadline's timer and returns its channel.
func (c *settleCtx) Done() <-chan struct{} { return c.started().Done() }

// Err reports context.DeadlineExceeded once the deadline passed.
func (c *settleCtx) Err() error {
	c.mu.Lock()
	if c.ctx == nil && time.Now().Before(c.deadlineLocked()) {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.started().Err()
}

func (c *settleCtx) started() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(context.WithoutCancel(c.parent), c.deadlineLocked())
	}
	return c.ctx
}

// stop releases the timer, if one was started.
func (c *settleCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}
