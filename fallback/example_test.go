package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llmops-go/llmops/fallback"
)

// A web search that is down, a cached snapshot that has nothing for this
// query, and a static knowledge base that always answers.
func Example() {
	search := func(ctx context.Context, q string) (string, error) {
		return "", fmt.Errorf("web_search: HTTP 503: %w", fallback.ErrUnavailable)
	}
	snapshot := func(ctx context.Context, q string) (string, error) {
		return "", fmt.Errorf("snapshot: no entry for %q: %w", q, fallback.ErrUnavailable)
	}
	static := func(ctx context.Context, q string) (string, error) {
		return "Paris is the capital of France.", nil
	}

	obs := fallback.ObserverFuncs{
		OnToolOutcome: func(_ context.Context, ev fallback.ToolEvent) {
			fmt.Printf("tool=%s status=%s reason=%s\n", ev.Tool, ev.Status, ev.Reason)
		},
		OnBreakerChange: func(ev fallback.BreakerEvent) {
			fmt.Printf("breaker %s: %s -> %s\n", ev.Tool, ev.From, ev.To)
		},
	}
	chain, err := fallback.New("knowledge", []fallback.Step[string, string]{
		fallback.NewStep("web_search", search, fallback.WithTimeout(2*time.Second), fallback.WithFailureThreshold(2)),
		fallback.NewStep("snapshot", snapshot),
		fallback.NewStep("static_kb", static),
	}, fallback.WithObserver(obs))
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := fallback.WithAttemptBudget(context.Background(), 7)
	for range 2 {
		r, err := chain.Do(ctx, "capital of France")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("served by %s after %d steps (fallback=%v): %s\n", r.Step, r.Tried, r.Fallback, r.Value)
	}
	fmt.Println(chain.States())

	// The second call opened web_search's breaker (two failures); the third
	// does not call it. The budget of 7 calls has 1 left, for snapshot.
	_, err = chain.Do(ctx, "capital of France")
	fmt.Println(errors.Is(err, fallback.ErrNoToolAvailable), errors.Is(err, fallback.ErrAttemptBudgetExhausted))

	// Output:
	// tool=web_search status=fallback reason=unavailable
	// tool=snapshot status=fallback reason=unavailable
	// tool=static_kb status=success reason=served
	// served by static_kb after 3 steps (fallback=true): Paris is the capital of France.
	// breaker web_search: closed -> open
	// tool=web_search status=fallback reason=unavailable
	// tool=snapshot status=fallback reason=unavailable
	// tool=static_kb status=success reason=served
	// served by static_kb after 3 steps (fallback=true): Paris is the capital of France.
	// [{web_search open} {snapshot closed} {static_kb closed}]
	// tool=web_search status=fallback reason=breaker_open
	// tool=snapshot status=fallback reason=unavailable
	// tool=static_kb status=failure reason=budget_exhausted
	// true true
}

// A chain used as a step of another: the nested chain's steps have their own
// breakers, and the attempt budget counts the calls of all of them.
func ExampleNested() {
	web, _ := fallback.New("web", []fallback.Step[string, string]{
		fallback.NewStep("search_a", func(context.Context, string) (string, error) { return "", fallback.ErrUnavailable }),
		fallback.NewStep("search_b", func(context.Context, string) (string, error) { return "", fallback.ErrUnavailable }),
	})
	answer, _ := fallback.New("answer", []fallback.Step[string, string]{
		fallback.Nested("web", web),
		fallback.NewStep("static_kb", func(context.Context, string) (string, error) { return "from the knowledge base", nil }),
	})

	r, err := answer.Do(context.Background(), "q")
	fmt.Println(r.Value, r.Step, r.Calls, err)

	_, err = answer.Do(fallback.WithAttemptBudget(context.Background(), 2), "q")
	fmt.Println(err)
	// Output:
	// from the knowledge base static_kb 3 <nil>
	// fallback: no tool available in chain answer: web: fallback: no tool available in chain web: search_a: fallback: tool unavailable; search_b: fallback: tool unavailable; static_kb: fallback: attempt budget exhausted
}
