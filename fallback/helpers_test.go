package fallback_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/fallback"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu       sync.Mutex
	tools    []fallback.ToolEvent
	breakers []fallback.BreakerEvent
}

func (r *recorder) ToolOutcome(_ context.Context, ev fallback.ToolEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tools = append(r.tools, ev)
}

func (r *recorder) BreakerChange(ev fallback.BreakerEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.breakers = append(r.breakers, ev)
}

func (r *recorder) toolEvents() []fallback.ToolEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fallback.ToolEvent(nil), r.tools...)
}

func (r *recorder) breakerEvents() []fallback.BreakerEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fallback.BreakerEvent(nil), r.breakers...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tools, r.breakers = nil, nil
}

// outcome is a compact form of a ToolEvent for comparisons.
type outcome struct {
	Tool   string
	Status fallback.Status
	Reason fallback.Reason
}

func outcomes(evs []fallback.ToolEvent) []outcome {
	out := make([]outcome, len(evs))
	for i, ev := range evs {
		out[i] = outcome{ev.Tool, ev.Status, ev.Reason}
	}
	return out
}

// tool is a scripted step function that counts its calls.
type tool struct {
	calls atomic.Int64
	fn    atomic.Pointer[func(ctx context.Context, q string) (string, error)]
}

func newTool(fn func(ctx context.Context, q string) (string, error)) *tool {
	t := &tool{}
	t.set(fn)
	return t
}

func (t *tool) set(fn func(ctx context.Context, q string) (string, error)) { t.fn.Store(&fn) }

func (t *tool) call(ctx context.Context, q string) (string, error) {
	t.calls.Add(1)
	return (*t.fn.Load())(ctx, q)
}

func serves(v string) func(context.Context, string) (string, error) {
	return func(context.Context, string) (string, error) { return v, nil }
}

func fails(err error) func(context.Context, string) (string, error) {
	return func(context.Context, string) (string, error) { return "", err }
}

// waitFor polls cond until it holds, failing the test after a generous
// bound. It waits for state changes driven by gobreaker's wall clock; it
// asserts nothing about how long they take.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// chaosFault mimics a chaos fault: it reports itself unavailable.
type chaosFault struct{}

func (chaosFault) Error() string     { return "chaos: outage" }
func (chaosFault) Unavailable() bool { return true }

// notReally has an Unavailable method that reports false.
type notReally struct{}

func (notReally) Error() string     { return "not really unavailable" }
func (notReally) Unavailable() bool { return false }

var errBadInput = errors.New("bad input")
