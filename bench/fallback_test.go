package bench

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	fsfallback "github.com/failsafe-go/failsafe-go/fallback"
	"github.com/sony/gobreaker/v2"

	"github.com/llmops-go/llmops/fallback"
)

var (
	fbSinkS   string
	fbSinkErr error
)

//go:noinline
func fbPrimary(_ context.Context, q string) (string, error) { return q, nil }

//go:noinline
func fbSecondary(_ context.Context, q string) (string, error) { return "snapshot:" + q, nil }

// fbBreaker is the gobreaker side: a breaker around the primary.
func fbBreaker() *gobreaker.CircuitBreaker[string] {
	return gobreaker.NewCircuitBreaker[string](gobreaker.Settings{Name: "primary", Timeout: 30 * time.Second})
}

// fbChain is the llmops side: a chain of the primary and the secondary,
// with a breaker each at default settings.
func fbChain(b *testing.B) *fallback.Chain[string, string] {
	b.Helper()
	c, err := fallback.New("bench", []fallback.Step[string, string]{
		fallback.NewStep("primary", fbPrimary),
		fallback.NewStep("secondary", fbSecondary),
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// fbFailsafe is the failsafe-go side: a Fallback to the secondary (for q)
// over a CircuitBreaker with the same thresholds, built once.
func fbFailsafe(ctx context.Context, q string) failsafe.Executor[string] {
	cb := circuitbreaker.NewBuilder[string]().WithFailureThreshold(5).WithDelay(30 * time.Second).Build()
	fb := fsfallback.NewWithFunc(func(failsafe.Execution[string]) (string, error) { return fbSecondary(ctx, q) })
	return failsafe.With[string](fb, cb)
}

// BenchmarkFallbackPrimarySucceeds: two tools, the primary serves. Compared:
// calling the primary directly; gobreaker's Execute around it (the floor for
// any breaker-per-tool design built on gobreaker); an llmops fallback chain
// of the two (a breaker each, default settings); failsafe-go composing a
// Fallback (to the secondary) over a CircuitBreaker (around the primary) with
// the same thresholds, its executor built once.
func BenchmarkFallbackPrimarySucceeds(b *testing.B) {
	ctx := context.Background()
	const q = "capital of France"

	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fbSinkS, fbSinkErr = fbPrimary(ctx, q)
		}
	})

	b.Run("gobreaker_execute", func(b *testing.B) {
		cb := fbBreaker()
		b.ReportAllocs()
		for b.Loop() {
			fbSinkS, fbSinkErr = cb.Execute(func() (string, error) { return fbPrimary(ctx, q) })
		}
	})

	b.Run("llmops_chain", func(b *testing.B) {
		c := fbChain(b)
		b.ReportAllocs()
		for b.Loop() {
			r, err := c.Do(ctx, q)
			fbSinkS, fbSinkErr = r.Value, err
		}
	})

	b.Run("failsafe_fallback_over_breaker", func(b *testing.B) {
		exec := fbFailsafe(ctx, q)
		b.ReportAllocs()
		for b.Loop() {
			fbSinkS, fbSinkErr = exec.Get(func() (string, error) { return fbPrimary(ctx, q) })
		}
	})
}

// BenchmarkFallbackPrimarySucceedsParallel is the same under contention.
func BenchmarkFallbackPrimarySucceedsParallel(b *testing.B) {
	ctx := context.Background()
	const q = "capital of France"

	b.Run("gobreaker_execute", func(b *testing.B) {
		cb := fbBreaker()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = cb.Execute(func() (string, error) { return fbPrimary(ctx, q) })
			}
		})
	})

	b.Run("llmops_chain", func(b *testing.B) {
		c := fbChain(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = c.Do(ctx, q)
			}
		})
	})

	b.Run("failsafe_fallback_over_breaker", func(b *testing.B) {
		exec := fbFailsafe(ctx, q)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = exec.Get(func() (string, error) { return fbPrimary(ctx, q) })
			}
		})
	})
}

// BenchmarkFallbackOverhead measures direct call, gobreaker Execute, the
// llmops chain and failsafe-go in alternating batches within one run and
// keeps each one's fastest batch, so that load from other processes hits all
// four alike. It reports (ns/op of each is in the metrics):
//
//   - chain-floor-ns: the chain's cost above gobreaker's Execute (target <= 50);
//   - overhead-ratio: (chain - direct) / (failsafe - direct) (target <= 0.3).
func BenchmarkFallbackOverhead(b *testing.B) {
	ctx := context.Background()
	const (
		q     = "capital of France"
		batch = 2000
	)
	cb := fbBreaker()
	c := fbChain(b)
	fexec := fbFailsafe(ctx, q)

	runs := [4]func(){
		func() {
			for range batch {
				fbSinkS, fbSinkErr = fbPrimary(ctx, q)
			}
		},
		func() {
			for range batch {
				fbSinkS, fbSinkErr = cb.Execute(func() (string, error) { return fbPrimary(ctx, q) })
			}
		},
		func() {
			for range batch {
				r, err := c.Do(ctx, q)
				fbSinkS, fbSinkErr = r.Value, err
			}
		},
		func() {
			for range batch {
				fbSinkS, fbSinkErr = fexec.Get(func() (string, error) { return fbPrimary(ctx, q) })
			}
		},
	}
	var best [4]time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j, run := range runs {
			start := time.Now()
			run()
			if d := time.Since(start); i == 0 || d < best[j] {
				best[j] = d
			}
		}
	}
	ns := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / batch }
	b.ReportMetric(ns(best[0]), "direct-ns")
	b.ReportMetric(ns(best[1]), "gobreaker-ns")
	b.ReportMetric(ns(best[2]), "chain-ns")
	b.ReportMetric(ns(best[3]), "failsafe-ns")
	b.ReportMetric(ns(best[2])-ns(best[1]), "chain-floor-ns")
	b.ReportMetric((ns(best[2])-ns(best[0]))/(ns(best[3])-ns(best[0])), "overhead-ratio")
}
