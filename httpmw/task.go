package httpmw

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/sli"
)

// Task is the state of one agent task: the tenant it is accounted to, the
// model to downshift to, and what its model calls used so far. The server
// middleware starts one per request; StartTask starts one anywhere else
// (a queue worker, a CLI). The Transport adds every priced response to the
// task in its request's context and enforces the per-task limits against it.
//
// A Task is safe for concurrent use by multiple goroutines.
type Task struct {
	tenant    string
	downshift string          // model to use instead of the requested one; "" for none
	decision  budget.Decision // the zero Decision without a budget

	calls    atomic.Int64 // model calls attempted
	input    atomic.Int64 // input tokens, cached included
	cached   atomic.Int64 // cached input tokens
	output   atomic.Int64 // output tokens
	cost     atomic.Int64 // micro-USD
	noUsage  atomic.Int64 // successful responses without a usage object
	unpriced atomic.Int64 // responses whose model the rate card could not price

	mu     sync.Mutex
	failed bool
	reason string
	model  string // the model of the last model call

	card *sli.RateCard // prices AddUsage; nil without a rate card
}

type taskKey struct{}

// TaskFrom returns the task in ctx, or nil.
func TaskFrom(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}

func withTask(ctx context.Context, t *Task) context.Context {
	return &taskContext{Context: ctx, task: t}
}

// taskContext carries a task; it is context.WithValue(ctx, taskKey{}, task)
// without a separate allocation when embedded in the middleware's
// per-request state.
type taskContext struct {
	context.Context
	task *Task
}

// Value returns the task for taskKey and defers to the parent otherwise.
func (c *taskContext) Value(key any) any {
	if _, ok := key.(taskKey); ok {
		return c.task
	}
	return c.Context.Value(key)
}

// StartTask returns a context carrying a new task for tenant, for agent
// loops that do not run behind the server middleware (queue workers,
// CLIs): the Transport accumulates usage into it and enforces its limits.
// card prices AddUsage (nil: AddUsage counts tokens only). Recording the
// task's outcome is then the caller's job (sli.Recorder.RecordTask with
// the task's Usage and CostMicroUSD).
func StartTask(ctx context.Context, tenant string, card *sli.RateCard) (context.Context, *Task) {
	t := &Task{tenant: tenant, card: card}
	return withTask(ctx, t), t
}

// Usage returns the token usage accumulated by the task.
func (t *Task) Usage() sli.Usage { return t.tokens().usage() }

// Tenant returns the tenant the task is accounted to.
func (t *Task) Tenant() string { return t.tenant }

// DownshiftModel returns the cheaper model the budget asked for, and true,
// when the task runs downshifted.
func (t *Task) DownshiftModel() (string, bool) { return t.downshift, t.downshift != "" }

// Decision returns the budget decision that admitted the task (Allow or
// Downshift), or the zero Decision when no budget is enforced.
func (t *Task) Decision() budget.Decision { return t.decision }

// setModel notes the model of a model call.
func (t *Task) setModel(m string) {
	t.mu.Lock()
	t.model = m
	t.mu.Unlock()
}

// servedModel returns the model of the task's last model call, or its
// downshift model when it made none through the Transport.
func (t *Task) servedModel() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.model == "" {
		return t.downshift
	}
	return t.model
}

// Calls returns the number of model calls the Transport attempted for the
// task, retries included.
func (t *Task) Calls() int64 { return t.calls.Load() }

// CostMicroUSD returns the cost accumulated by the task in micro-USD.
func (t *Task) CostMicroUSD() int64 { return t.cost.Load() }

// ResponsesWithoutUsage returns how many successful model responses carried
// no usage object (their cost is unknown and not in CostMicroUSD).
func (t *Task) ResponsesWithoutUsage() int64 { return t.noUsage.Load() }

// UnpricedResponses returns how many model responses had usage the rate
// card could not price (their tokens are counted, their cost is not).
func (t *Task) UnpricedResponses() int64 { return t.unpriced.Load() }

// Failed returns the reason given to MarkFailed, and whether it was called.
func (t *Task) Failed() (reason string, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reason, t.failed
}

func (t *Task) markFailed(reason string) {
	t.mu.Lock()
	if !t.failed {
		t.failed, t.reason = true, reason
	}
	t.mu.Unlock()
}

func (t *Task) add(u tokens, microUSD int64) {
	if u.input != 0 {
		t.input.Add(u.input)
	}
	if u.cached != 0 {
		t.cached.Add(u.cached)
	}
	if u.output != 0 {
		t.output.Add(u.output)
	}
	if microUSD != 0 {
		t.cost.Add(microUSD)
	}
}

func (t *Task) tokens() tokens {
	return tokens{input: t.input.Load(), cached: t.cached.Load(), output: t.output.Load()}
}

// Limits caps what one task may spend on model calls. A zero field means
// no limit. Once a limit is reached, the Transport refuses further model
// calls of the task with a *CapError; the call that crosses a token or cost
// limit completes (its usage is known only afterwards), the next one fails.
type Limits struct {
	MaxCalls        int64 // model calls, retries included
	MaxTokens       int64 // input plus output tokens
	MaxCostMicroUSD int64 // cost in micro-USD
}

// exceeded reports the first limit the task has reached, counting the
// calls it has already made (extra = 0) or one more call (extra = 1).
func (l Limits) exceeded(t *Task, extra int64) error {
	if l.MaxCalls > 0 {
		if n := t.calls.Load(); n+extra > l.MaxCalls {
			return &CapError{Kind: CapCalls, Max: l.MaxCalls, Used: n}
		}
	}
	if l.MaxTokens > 0 {
		if n := t.input.Load() + t.output.Load(); n >= l.MaxTokens {
			return &CapError{Kind: CapTokens, Max: l.MaxTokens, Used: n}
		}
	}
	if l.MaxCostMicroUSD > 0 {
		if n := t.cost.Load(); n >= l.MaxCostMicroUSD {
			return &CapError{Kind: CapCost, Max: l.MaxCostMicroUSD, Used: n}
		}
	}
	return nil
}

// admit counts one more model call for the task unless a limit forbids it.
func (l Limits) admit(t *Task) error {
	if t == nil {
		return nil
	}
	if l.MaxCalls > 0 {
		if n := t.calls.Add(1); n > l.MaxCalls {
			t.calls.Add(-1)
			return &CapError{Kind: CapCalls, Max: l.MaxCalls, Used: n - 1}
		}
		if err := l.exceeded(t, 0); err != nil {
			t.calls.Add(-1)
			return err
		}
		return nil
	}
	if err := l.exceeded(t, 1); err != nil {
		return err
	}
	t.calls.Add(1)
	return nil
}

// AddUsage adds the usage of a model call made outside the Transport (a
// client that does not use it, a provider it does not parse) to the task in
// ctx, priced with the rate card of the middleware (or of StartTask). It
// returns the cost added. The tokens are added even when pricing fails; the
// error then matches sli.ErrUnknownModel or sli.ErrInvalidUsage, or says
// there is no rate card. Without a task in ctx it returns ErrNoTask.
func AddUsage(ctx context.Context, model string, u sli.Usage) (int64, error) {
	t := TaskFrom(ctx)
	if t == nil {
		return 0, ErrNoTask
	}
	if err := u.Validate(); err != nil {
		return 0, fmt.Errorf("httpmw: AddUsage: %w", err)
	}
	tk := tokens{input: u.InputTokens, cached: u.CachedInputTokens, output: u.OutputTokens}
	if t.card == nil {
		t.add(tk, 0)
		t.unpriced.Add(1)
		return 0, fmt.Errorf("httpmw: AddUsage: %w", errNoRateCard)
	}
	cost, err := t.card.Cost(model, u)
	if err != nil {
		t.add(tk, 0)
		t.unpriced.Add(1)
		return 0, fmt.Errorf("httpmw: AddUsage: %w", err)
	}
	t.add(tk, cost)
	return cost, nil
}

// AddCost adds a cost that is not a model call (a paid tool API, say) to
// the task in ctx, in micro-USD; it is settled with the rest. Without a
// task in ctx, or for a negative amount, it does nothing.
func AddCost(ctx context.Context, microUSD int64) {
	if t := TaskFrom(ctx); t != nil && microUSD > 0 {
		t.cost.Add(microUSD)
	}
}

// MarkFailed marks the task in ctx as failed with a reason (a short,
// bounded word such as "tool_error"; it becomes a metric attribute). The
// first call wins. Without a task in ctx it does nothing.
func MarkFailed(ctx context.Context, reason string) {
	if t := TaskFrom(ctx); t != nil {
		t.markFailed(reason)
	}
}

// DownshiftModel returns the model the task in ctx must use instead of its
// primary one, and true, when its tenant's budget asked for a downshift.
// The Transport applies it by itself; handlers that pick models on their
// own read it here.
func DownshiftModel(ctx context.Context) (string, bool) {
	if t := TaskFrom(ctx); t != nil {
		return t.DownshiftModel()
	}
	return "", false
}
