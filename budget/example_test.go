package budget_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/clock"
)

// A tenant with a 10 USD monthly budget spends 3 USD per task: it is
// allowed at first, moves to the cheaper model from 80 % and is blocked
// when the next task would reach the limit.
func Example() {
	ctx := context.Background()
	limit, _ := budget.FromUSD(10)
	e, err := budget.New(budget.NewMemory(),
		budget.WithDefaultLimit(limit),
		budget.WithClock(clock.NewFake(time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC))),
	)
	if err != nil {
		panic(err)
	}
	models := budget.Models{Primary: "gpt-4.1", Downshift: "gpt-4.1-mini"}
	for task := 1; task <= 4; task++ {
		r, err := e.Reserve(ctx, "acme", 3_000_000) // worst case 3 USD
		if err != nil {
			panic(err)
		}
		fmt.Printf("task %d: %-9s model=%-13q spent=%d remaining=%d\n",
			task, r.Decision, r.Model(models), r.Spent, r.Remaining)
		if r.Decision == budget.Block {
			fmt.Println("retry after", r.RetryAfter())
			break
		}
		_ = r.Settle(ctx, 3_000_000) // the task cost 3 USD
	}
	// Output:
	// task 1: allow     model="gpt-4.1"     spent=0 remaining=7000000
	// task 2: allow     model="gpt-4.1"     spent=3000000 remaining=4000000
	// task 3: downshift model="gpt-4.1-mini" spent=6000000 remaining=1000000
	// task 4: block     model=""            spent=9000000 remaining=1000000
	// retry after 36h0m0s
}

// Run is an agent loop's budget in one call: reserve, pick the model, run,
// settle the actual cost.
func ExampleEnforcer_Run() {
	ctx := context.Background()
	e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(1_000_000))
	if err != nil {
		panic(err)
	}
	models := budget.Models{Primary: "big-model", Downshift: "small-model"}
	for range 3 {
		_, err := e.Run(ctx, "acme", 400_000, models, func(ctx context.Context, model string) (int64, error) {
			fmt.Println("running on", model)
			return 450_000, nil // what the calls really cost
		})
		if errors.Is(err, budget.ErrBlocked) {
			fmt.Println(err.(*budget.BlockedError).Limit, "micro-USD limit reached")
		}
	}
	// Output:
	// running on big-model
	// running on small-model
	// 1000000 micro-USD limit reached
}
