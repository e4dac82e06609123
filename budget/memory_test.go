package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/storetest"
	"github.com/llmops-go/llmops/clock"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) budget.Store { return budget.NewMemory() })
}

// TestMemoryRace is the in-memory race check: 64 goroutines x 1,000
// reservations with random estimates on one tenant.
func TestMemoryRace(t *testing.T) {
	storetest.Concurrent(t, []budget.Store{budget.NewMemory()}, 64, 1000)
}

func TestMemoryEvictsOldPeriods(t *testing.T) {
	ctx := context.Background()
	m := budget.NewMemory()
	fc := clock.NewFake(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC))
	e, err := budget.New(m, budget.WithClock(fc), budget.WithDefaultLimit(1000), budget.WithPeriod(budget.Daily()),
		budget.WithReservationTTL(time.Minute), budget.WithRetention(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	jan31 := budget.Daily().Window(fc.Now())
	for _, tenant := range []string{"idle", "active"} {
		r, _ := e.Reserve(ctx, tenant, 10)
		if err := r.Settle(ctx, 7); err != nil {
			t.Fatal(err)
		}
	}
	usage := func(tenant string, now time.Time) int64 {
		u, err := m.Usage(ctx, budget.UsageArgs{Tenant: tenant, Period: jan31, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return u.Spent
	}
	// Within the retention after the period's end the old period is kept.
	fc.Set(jan31.End.Add(30 * time.Minute))
	if _, err := e.Reserve(ctx, "active", 1); err != nil {
		t.Fatal(err)
	}
	if got := usage("idle", fc.Now()); got != 7 {
		t.Fatalf("idle tenant's period evicted within retention: spent %d", got)
	}
	// Past it, the first reservation of the next period in the shard
	// evicts every expired period, idle tenants included.
	fc.Set(jan31.End.Add(25 * time.Hour))
	if _, err := e.Reserve(ctx, "active", 1); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"idle", "active"} {
		if got := usage(tenant, fc.Now()); got != 0 {
			t.Fatalf("%s: expired period still kept (spent %d)", tenant, got)
		}
	}
}
