package fallback

import (
	"context"
	"sync/atomic"
)

type budgetKey struct{}

// attemptBudget is the number of tool calls a request may still make. A
// budget set inside another one draws from both.
type attemptBudget struct {
	left   atomic.Int64
	parent *attemptBudget
}

// WithAttemptBudget returns a context whose requests may make at most n tool
// calls in total, across every chain and nested chain that runs with it (or a
// context derived from it). Calls rejected by an open breaker are not tool
// calls and cost nothing. n < 0 is treated as 0.
//
// When ctx already carries a budget, the new one is drawn from it as well: a
// call needs both.
func WithAttemptBudget(ctx context.Context, n int) context.Context {
	b := &attemptBudget{parent: budgetFrom(ctx)}
	b.left.Store(int64(max(n, 0)))
	return context.WithValue(ctx, budgetKey{}, b)
}

// AttemptsLeft returns the number of tool calls the budget in ctx still
// allows, and false when ctx carries no budget.
func AttemptsLeft(ctx context.Context) (int, bool) {
	b := budgetFrom(ctx)
	if b == nil {
		return 0, false
	}
	n := b.left.Load()
	for p := b.parent; p != nil; p = p.parent {
		n = min(n, p.left.Load())
	}
	return int(max(n, 0)), true
}

func budgetFrom(ctx context.Context) *attemptBudget {
	b, _ := ctx.Value(budgetKey{}).(*attemptBudget)
	return b
}

// take spends one attempt from b and its parents, or none of them when one
// is spent out.
func (b *attemptBudget) take() bool {
	for x := b; x != nil; x = x.parent {
		if x.left.Add(-1) < 0 {
			for y := b; ; y = y.parent {
				y.left.Add(1)
				if y == x {
					break
				}
			}
			return false
		}
	}
	return true
}
