package httpmw_test

import (
	"context"
	"errors"
	"testing"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

func TestObserverAdapters(t *testing.T) {
	m := newMetrics(t)
	ctx, _ := httpmw.StartTask(context.Background(), "acme", testCard(t))

	b := httpmw.BudgetObserver(m.rec)
	b.Breach("acme", budget.Block)
	b.Breach("acme", budget.Downshift)
	b.Breach("acme", budget.Allow) // not a breach
	b.Decision("acme", budget.Allow, 1, 2, 3, 4)
	b.StoreError("reserve", "acme", errors.New("down"))
	if got := m.sum(t, sli.MetricBudgetBreach, sli.AttrTenant, "acme"); got != 2 {
		t.Fatalf("%s = %v, want 2", sli.MetricBudgetBreach, got)
	}

	httpmw.ChaosObserver(m.rec).ChaosInjected("outage", "tool:search")
	if got := m.sum(t, sli.MetricChaosInjected, sli.AttrMode, "outage", sli.AttrTarget, "tool:search"); got != 1 {
		t.Fatalf("%s = %v", sli.MetricChaosInjected, got)
	}

	f := httpmw.FallbackObserver(m.rec)
	f.ToolOutcome(ctx, fallback.ToolEvent{Tool: "search", Status: fallback.StatusFallback})
	f.ToolOutcome(ctx, fallback.ToolEvent{Tool: "search_cache", Status: fallback.StatusSuccess})
	if got := m.sum(t, sli.MetricToolSuccess, sli.AttrTenant, "acme", sli.AttrTool, "search", sli.AttrStatus, "fallback"); got != 1 {
		t.Fatalf("%s fallback = %v", sli.MetricToolSuccess, got)
	}
}
