package repairobs_test

import (
	"context"
	"fmt"

	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/httpmw/repairobs"
	"github.com/llmops-go/llmops/repair"
	"github.com/llmops-go/llmops/sli"
)

// Example charges a repair model call to the request's task: pass the
// Observer to the repair loop (repair.WithObserver) of a service wrapped
// by httpmw.
func Example() {
	rec, _ := sli.New()
	ctx, task := httpmw.StartTask(context.Background(), "acme", rec.RateCard())
	obs := repairobs.Observer(rec, true)
	obs.ModelCall(ctx, repair.ModelCallEvent{Tool: "search", Attempt: 1, Model: "gpt-4o-mini",
		Usage: repair.Usage{InputTokens: 2000, OutputTokens: 500}})
	fmt.Println(task.Usage().InputTokens, "input tokens,", task.CostMicroUSD(), "micro-USD")
	// Output: 2000 input tokens, 600 micro-USD
}
