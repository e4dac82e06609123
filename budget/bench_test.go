package budget_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/llmops-go/llmops/budget"
)

// BenchmarkMemoryReserveSettle measures one Reserve plus one Settle on the
// in-memory store, each goroutine on its own tenant (many tenants, the
// common case).
func BenchmarkMemoryReserveSettle(b *testing.B) {
	e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(budget.MaxAmount))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		tenant := "tenant-" + strconv.FormatInt(next.Add(1), 10)
		for pb.Next() {
			r, err := e.Reserve(ctx, tenant, 1_000)
			if err != nil || !r.Decision.Admitted() {
				b.Fatal(r.Decision, err)
			}
			if err := r.Settle(ctx, 900); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryReserveSettleOneTenant is the worst case: every goroutine
// on the same tenant, so every operation takes the same lock.
func BenchmarkMemoryReserveSettleOneTenant(b *testing.B) {
	e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(budget.MaxAmount))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := e.Reserve(ctx, "one", 1_000)
			if err != nil || !r.Decision.Admitted() {
				b.Fatal(r.Decision, err)
			}
			if err := r.Settle(ctx, 900); err != nil {
				b.Fatal(err)
			}
		}
	})
}
