package budget

import (
	"context"
	"sync/atomic"
	"time"
)

// deadlines bounds store calls by the store timeout.
//
// context.WithTimeout costs a timer, a channel and five allocations per
// call (about half a microsecond of CPU), which is a large part of a
// Redis round trip's client-side cost. When the caller's context can never
// be cancelled (its Done is nil: context.Background, context.WithoutCancel,
// values only), which is how settles after a request and most agent loops
// call, the calls share one deadline context per slice of time instead:
// a call started at t gets a deadline in (t+timeout-timeout/16,
// t+timeout], from a context shared with every call that starts while
// that deadline is in range, and wraps it with the caller's values (one
// small allocation). At most 17 such shared contexts are live at once,
// each with one runtime timer that fires once.
//
// A caller context that can be cancelled gets context.WithTimeout: merging
// its cancellation with a shared deadline would take a goroutine or a
// registration as costly as the timer it saves.
type deadlines struct {
	timeout time.Duration
	slack   time.Duration
	cur     atomic.Pointer[sharedDeadline]
}

// sharedDeadline is one deadline context shared by the calls that start
// while its deadline is between timeout-slack and timeout away.
type sharedDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc // called by nobody before the deadline; kept for vet and for tests
	at     time.Time          // ctx's deadline, with a monotonic reading
}

func newDeadlines(timeout time.Duration) *deadlines {
	return &deadlines{timeout: timeout, slack: max(timeout/16, 1)}
}

// bound returns ctx bounded by the timeout, and the function to call when
// the store call is over.
func (d *deadlines) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d.timeout {
		return ctx, noCancel
	}
	if ctx.Done() != nil {
		return context.WithTimeout(ctx, d.timeout)
	}
	return &boundContext{Context: ctx, s: d.shared(time.Now())}, noCancel
}

// shared returns a deadline context whose deadline is in
// (now+timeout-slack, now+timeout].
func (d *deadlines) shared(now time.Time) *sharedDeadline {
	cur := d.cur.Load()
	if cur != nil {
		if left := cur.at.Sub(now); left > d.timeout-d.slack && left <= d.timeout {
			return cur
		}
	}
	at := now.Add(d.timeout)
	ctx, cancel := context.WithDeadline(context.Background(), at)
	s := &sharedDeadline{ctx: ctx, cancel: cancel, at: at}
	// If another call installed one meanwhile, ours still serves this
	// call and expires on its own.
	d.cur.CompareAndSwap(cur, s)
	return s
}

func noCancel() {}

// boundContext is a context that cannot be cancelled (its Done is nil)
// bounded by a shared deadline: its values are the caller's, its deadline,
// Done and Err the shared context's.
type boundContext struct {
	context.Context
	s *sharedDeadline
}

// Deadline implements context.Context.
func (c *boundContext) Deadline() (time.Time, bool) { return c.s.at, true }

// Done implements context.Context.
func (c *boundContext) Done() <-chan struct{} { return c.s.ctx.Done() }

// Err implements context.Context.
func (c *boundContext) Err() error { return c.s.ctx.Err() }

// AfterFunc lets a context derived from c (context.WithCancel and the
// like) follow the shared deadline without a goroutine of its own: the
// context package calls it when a parent has it.
func (c *boundContext) AfterFunc(f func()) func() bool { return context.AfterFunc(c.s.ctx, f) }

// String describes the context, as the context package's own do.
func (c *boundContext) String() string { return "budget.storeContext" }
