package httpmw

import (
	"context"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/sli"
)

// BudgetObserver adapts rec to budget.Observer: every Downshift or Block
// breach is recorded as agent.budget.breach. Give it to the enforcer with
// budget.WithObserver; the middleware does not record breaches itself, so
// they are counted once however the enforcer is used.
func BudgetObserver(rec *sli.Recorder) budget.Observer {
	return budget.ObserverFuncs{OnBreach: func(tenant string, d budget.Decision) {
		switch d {
		case budget.Downshift:
			rec.RecordBudgetBreach(context.Background(), tenant, sli.BreachDownshift)
		case budget.Block:
			rec.RecordBudgetBreach(context.Background(), tenant, sli.BreachBlock)
		}
	}}
}

// ChaosObserver adapts rec to chaos.Observer: every injected fault is
// recorded as agent.chaos.injected. Give it to the injector with
// chaos.WithObserver.
func ChaosObserver(rec *sli.Recorder) chaos.Observer {
	return chaos.ObserverFunc(func(mode, target string) {
		rec.RecordChaosInjected(context.Background(), mode, target)
	})
}

// FallbackObserver adapts rec to fallback.Observer: every step outcome of a
// chain is recorded as agent.tool.success with the status (success,
// fallback, failure) and the tenant of the task in the call's context.
// Breaker transitions are not SLIs and are not recorded.
func FallbackObserver(rec *sli.Recorder) fallback.Observer {
	return fallback.ObserverFuncs{OnToolOutcome: func(ctx context.Context, ev fallback.ToolEvent) {
		st, _ := sli.ParseToolStatus(ev.Status.String()) // an unknown status is recorded as "_other"
		rec.RecordToolOutcome(ctx, tenantOf(ctx), ev.Tool, st)
	}}
}

// tenantOf returns the tenant of the task in ctx, or "" (recorded as
// "unknown").
func tenantOf(ctx context.Context) string {
	if t := TaskFrom(ctx); t != nil {
		return t.tenant
	}
	return ""
}
