package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/sli"
)

func TestRunPrintsEveryMetric(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		sli.MetricTaskSuccess, sli.MetricTaskFailure, sli.MetricTaskLatency, sli.MetricTokensIn, sli.MetricTokensOut,
		sli.MetricCostUSD, sli.MetricToolSuccess, sli.MetricRepairRetry, sli.MetricModelDownshift,
		sli.MetricBudgetBreach, sli.MetricChaosInjected, sli.MetricGenAITokenUsage, sli.MetricGenAIOperationDuration,
	} {
		if !strings.Contains(out.String(), "\n"+name+" ") {
			t.Errorf("output lacks %s:\n%s", name, out.String())
		}
	}
	// acme's two tasks cost 6520 + 8890 + 14250 micro-USD at the built-in card's gpt-4o prices.
	if !strings.Contains(out.String(), "0.029660") {
		t.Errorf("acme's cost is not 0.029660 USD:\n%s", out.String())
	}
}
