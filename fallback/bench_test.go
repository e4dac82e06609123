package fallback_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sony/gobreaker/v2"

	"github.com/llmops-go/llmops/fallback"
)

var (
	sinkS   string
	sinkErr error
)

//go:noinline
func primaryTool(_ context.Context, q string) (string, error) { return q, nil }

//go:noinline
func secondaryTool(_ context.Context, _ string) (string, error) { return "snapshot", nil }

func benchChain(b *testing.B, opts ...fallback.Option) *fallback.Chain[string, string] {
	b.Helper()
	c, err := fallback.New("bench", []fallback.Step[string, string]{
		fallback.NewStep("primary", primaryTool),
		fallback.NewStep("secondary", secondaryTool),
	}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkPrimarySucceeds compares a two-step chain whose primary serves
// with calling the primary directly and with gobreaker's own Execute around
// it (the floor: one breaker is the least a chain with breakers can cost).
func BenchmarkPrimarySucceeds(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkS, sinkErr = primaryTool(ctx, "q")
		}
	})
	b.Run("gobreaker_execute", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[string](gobreaker.Settings{Name: "primary"})
		b.ReportAllocs()
		for b.Loop() {
			sinkS, sinkErr = cb.Execute(func() (string, error) { return primaryTool(ctx, "q") })
		}
	})
	b.Run("chain", func(b *testing.B) {
		c := benchChain(b)
		b.ReportAllocs()
		for b.Loop() {
			r, err := c.Do(ctx, "q")
			sinkS, sinkErr = r.Value, err
		}
	})
	b.Run("chain_observed", func(b *testing.B) {
		c := benchChain(b, fallback.WithObserver(fallback.ObserverFuncs{
			OnToolOutcome: func(context.Context, fallback.ToolEvent) {},
		}))
		b.ReportAllocs()
		for b.Loop() {
			r, err := c.Do(ctx, "q")
			sinkS, sinkErr = r.Value, err
		}
	})
	b.Run("chain_budget", func(b *testing.B) {
		c := benchChain(b)
		bctx := fallback.WithAttemptBudget(ctx, 1<<62)
		b.ReportAllocs()
		for b.Loop() {
			r, err := c.Do(bctx, "q")
			sinkS, sinkErr = r.Value, err
		}
	})
}

// BenchmarkPrimarySucceedsParallel is the chain's hot path under contention.
func BenchmarkPrimarySucceedsParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("gobreaker_execute", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[string](gobreaker.Settings{Name: "primary"})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = cb.Execute(func() (string, error) { return primaryTool(ctx, "q") })
			}
		})
	})
	b.Run("chain", func(b *testing.B) {
		c := benchChain(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = c.Do(ctx, "q")
			}
		})
	})
}

// BenchmarkPrimaryUnavailable is the fallback path: the primary falls
// through (its breaker never opens here), the secondary serves.
func BenchmarkPrimaryUnavailable(b *testing.B) {
	ctx := context.Background()
	down := errors.Join(fallback.ErrUnavailable)
	c, err := fallback.New("bench", []fallback.Step[string, string]{
		fallback.NewStep("primary", func(context.Context, string) (string, error) { return "", down },
			fallback.WithFailureThreshold(1<<30)),
		fallback.NewStep("secondary", secondaryTool),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.Do(ctx, "q")
		sinkS, sinkErr = r.Value, err
	}
}
