package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the rollover checks load time zones on any host

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/clock"
)

// Limit is the default limit, in micro-USD, of the Enforcers the suite
// builds (1 USD).
const Limit = 1_000_000

// TTL is the reservation TTL of the suite's Enforcers.
const TTL = time.Minute

// Start returns the fake clock's starting time, 2026-03-10T12:00:00Z.
func Start() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) budget.Store

// Run runs the conformance suite against the stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Run("Thresholds", func(t *testing.T) { testThresholds(t, newStore(t)) })
	t.Run("BadAmounts", func(t *testing.T) { testBadAmounts(t, newStore(t)) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newStore(t)) })
	t.Run("Outcomes", func(t *testing.T) { testOutcomes(t, newStore(t)) })
	t.Run("RetriedReserve", func(t *testing.T) { testRetriedReserve(t, newStore(t)) })
	t.Run("Rollover", func(t *testing.T) { testRollover(t, newStore) })
	t.Run("HostileTenants", func(t *testing.T) { testHostileTenants(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		Concurrent(t, []budget.Store{s, s}, 8, 200)
	})
}

func newEnforcer(t testing.TB, s budget.Store, c budget.Clock, opts ...budget.Option) *budget.Enforcer {
	t.Helper()
	base := []budget.Option{
		budget.WithClock(c),
		budget.WithDefaultLimit(Limit),
		budget.WithTenantLimit("zero-limit", 0),
		budget.WithReservationTTL(TTL),
		budget.WithRetention(time.Hour),
		budget.WithTimeout(5 * time.Second),
	}
	e, err := budget.New(s, append(base, opts...)...)
	if err != nil {
		t.Fatalf("budget.New: %v", err)
	}
	return e
}

// spend records exactly amount for the tenant: a zero reservation settled
// at amount (which also exercises "actual above the estimate is recorded").
func spend(t testing.TB, e *budget.Enforcer, tenant string, amount int64) {
	t.Helper()
	ctx := context.Background()
	r, err := e.Reserve(ctx, tenant, 0)
	if err != nil || !r.Decision.Admitted() {
		t.Fatalf("spend: Reserve(%q, 0) = %v, %v", tenant, r.Decision, err)
	}
	if err := r.Settle(ctx, amount); err != nil {
		t.Fatalf("spend: Settle(%d): %v", amount, err)
	}
}

func status(t testing.TB, e *budget.Enforcer, tenant string) budget.Status {
	t.Helper()
	st, err := e.Status(context.Background(), tenant)
	if err != nil {
		t.Fatalf("Status(%q): %v", tenant, err)
	}
	return st
}

func testThresholds(t *testing.T, s budget.Store) {
	e := newEnforcer(t, s, clock.NewFake(Start()))
	ctx := context.Background()
	tests := []struct {
		name     string
		tenant   string
		spent    int64 // settled before
		held     int64 // held (unsettled) before
		estimate int64
		want     budget.Decision
	}{
		{"zero", "", 0, 0, 0, budget.Allow},
		{"zero spend with estimate", "", 0, 0, 100_000, budget.Allow},
		{"just under 80%", "", 799_999, 0, 0, budget.Allow},
		{"estimate lands just under 80%", "", 700_000, 0, 99_999, budget.Allow},
		{"exactly 80%", "", 800_000, 0, 0, budget.Downshift},
		{"estimate lands exactly on 80%", "", 700_000, 0, 100_000, budget.Downshift},
		{"held counts toward 80%", "", 0, 800_000, 0, budget.Downshift},
		{"just under 100%", "", 999_999, 0, 0, budget.Downshift},
		{"estimate lands just under 100%", "", 900_000, 0, 99_999, budget.Downshift},
		{"exactly 100%", "", 1_000_000, 0, 0, budget.Block},
		{"estimate lands exactly on 100%", "", 900_000, 0, 100_000, budget.Block},
		{"held and estimate reach 100%", "", 500_000, 400_000, 100_000, budget.Block},
		{"over", "", 1_200_000, 0, 0, budget.Block},
		{"estimate alone over the limit", "", 0, 0, 1_000_001, budget.Block},
		{"limit 0", "zero-limit", 0, 0, 0, budget.Block},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tenant := tc.tenant
			if tenant == "" {
				tenant = fmt.Sprintf("thresholds-%d", i)
			}
			if tc.spent > 0 {
				spend(t, e, tenant, tc.spent)
			}
			if tc.held > 0 {
				if r, err := e.Reserve(ctx, tenant, tc.held); err != nil || !r.Decision.Admitted() {
					t.Fatalf("hold %d: %v, %v", tc.held, r.Decision, err)
				}
			}
			r, err := e.Reserve(ctx, tenant, tc.estimate)
			if err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			if r.Decision != tc.want {
				t.Fatalf("Reserve(spent %d, held %d, estimate %d) = %v, want %v", tc.spent, tc.held, tc.estimate, r.Decision, tc.want)
			}
			wantHeld := tc.held
			if r.Decision.Admitted() {
				wantHeld += tc.estimate
			}
			wantLimit := int64(Limit)
			if tenant == "zero-limit" {
				wantLimit = 0
			}
			wantRemaining := max(wantLimit-tc.spent-wantHeld, 0)
			if r.Spent != tc.spent || r.Held != wantHeld || r.Limit != wantLimit || r.Remaining != wantRemaining {
				t.Fatalf("figures = spent %d held %d limit %d remaining %d, want %d %d %d %d",
					r.Spent, r.Held, r.Limit, r.Remaining, tc.spent, wantHeld, wantLimit, wantRemaining)
			}
			if !r.PeriodEnd.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("PeriodEnd = %v", r.PeriodEnd)
			}
			if r.RetryAfter() != r.PeriodEnd.Sub(Start()) {
				t.Fatalf("RetryAfter = %v, want %v", r.RetryAfter(), r.PeriodEnd.Sub(Start()))
			}
			st := status(t, e, tenant)
			if st.Spent != tc.spent || st.Held != wantHeld {
				t.Fatalf("Status = spent %d held %d, want %d %d", st.Spent, st.Held, tc.spent, wantHeld)
			}
		})
	}
}

func testBadAmounts(t *testing.T, s budget.Store) {
	ctx := context.Background()
	e := newEnforcer(t, s, clock.NewFake(Start()))
	for _, est := range []int64{-1, budget.MaxAmount + 1, -budget.MaxAmount} {
		r, err := e.Reserve(ctx, "bad-amounts", est)
		if !errors.Is(err, budget.ErrInvalidAmount) || r.Decision != budget.Block {
			t.Fatalf("Reserve(estimate %d) = %v, %v; want Block, ErrInvalidAmount", est, r.Decision, err)
		}
	}
	r, err := e.Reserve(ctx, "bad-amounts", 10)
	if err != nil || r.Decision != budget.Allow {
		t.Fatalf("Reserve = %v, %v", r.Decision, err)
	}
	if err := r.Settle(ctx, -5); !errors.Is(err, budget.ErrInvalidAmount) {
		t.Fatalf("Settle(-5) = %v, want ErrInvalidAmount", err)
	}
	if st := status(t, e, "bad-amounts"); st.Spent != 0 || st.Held != 10 {
		t.Fatalf("after a rejected settle: spent %d held %d, want 0 10", st.Spent, st.Held)
	}
	lf := newEnforcer(t, s, clock.NewFake(Start()), budget.WithLimitFunc(func(context.Context, string) (int64, error) { return -1, nil }))
	if r, err := lf.Reserve(ctx, "bad-limit", 0); !errors.Is(err, budget.ErrInvalidAmount) || r.Decision != budget.Block {
		t.Fatalf("negative LimitFunc limit: %v, %v", r.Decision, err)
	}
}

func testLifecycle(t *testing.T, s budget.Store) {
	ctx := context.Background()
	fc := clock.NewFake(Start())
	e := newEnforcer(t, s, fc)
	expect := func(t *testing.T, tenant string, spent, held int64) {
		t.Helper()
		if st := status(t, e, tenant); st.Spent != spent || st.Held != held {
			t.Fatalf("%s: spent %d held %d, want %d %d", tenant, st.Spent, st.Held, spent, held)
		}
	}
	reserve := func(t *testing.T, tenant string, est int64) budget.Reservation {
		t.Helper()
		r, err := e.Reserve(ctx, tenant, est)
		if err != nil || !r.Decision.Admitted() {
			t.Fatalf("Reserve(%q, %d) = %v, %v", tenant, est, r.Decision, err)
		}
		return r
	}
	t.Run("release returns the hold", func(t *testing.T) {
		r := reserve(t, "release", 300)
		expect(t, "release", 0, 300)
		for range 2 {
			if err := r.Release(ctx); err != nil {
				t.Fatal(err)
			}
			expect(t, "release", 0, 0)
		}
		if err := r.Settle(ctx, 100); err != nil {
			t.Fatal(err)
		}
		expect(t, "release", 0, 0)
	})
	t.Run("double settle counts once", func(t *testing.T) {
		r := reserve(t, "settle", 300)
		copyOf := r
		for _, res := range []budget.Reservation{r, r, copyOf} {
			if err := res.Settle(ctx, 250); err != nil {
				t.Fatal(err)
			}
			expect(t, "settle", 250, 0)
		}
		if err := r.Release(ctx); err != nil {
			t.Fatal(err)
		}
		expect(t, "settle", 250, 0)
	})
	t.Run("actual above estimate is recorded", func(t *testing.T) {
		r := reserve(t, "above", 100)
		if err := r.Settle(ctx, 7_000); err != nil {
			t.Fatal(err)
		}
		expect(t, "above", 7_000, 0)
	})
	t.Run("holder that never settles", func(t *testing.T) {
		reserve(t, "dead-holder", 900_000) // never settled
		if r, _ := e.Reserve(ctx, "dead-holder", 200_000); r.Decision != budget.Block {
			t.Fatalf("second reservation = %v, want Block while the first holds", r.Decision)
		}
		fc.Advance(TTL - time.Millisecond)
		expect(t, "dead-holder", 0, 900_000)
		if r, _ := e.Reserve(ctx, "dead-holder", 200_000); r.Decision != budget.Block {
			t.Fatalf("1ms before expiry = %v, want Block", r.Decision)
		}
		fc.Advance(time.Millisecond)
		expect(t, "dead-holder", 0, 0)
		r := reserve(t, "dead-holder", 200_000)
		if r.Held != 200_000 {
			t.Fatalf("Held = %d after the dead hold expired, want 200000", r.Held)
		}
	})
	t.Run("settle after expiry still records", func(t *testing.T) {
		r := reserve(t, "late", 500)
		fc.Advance(TTL + time.Second)
		reserve(t, "late", 0) // sweeps the expired hold
		expect(t, "late", 0, 0)
		if err := r.Settle(ctx, 400); err != nil {
			t.Fatal(err)
		}
		expect(t, "late", 400, 0)
		if err := r.Settle(ctx, 400); err != nil {
			t.Fatal(err)
		}
		expect(t, "late", 400, 0)
	})
	t.Run("settle after expiry before any sweep", func(t *testing.T) {
		r := reserve(t, "late-unswept", 500)
		fc.Advance(TTL + time.Second)
		expect(t, "late-unswept", 0, 0)
		if err := r.Settle(ctx, 450); err != nil {
			t.Fatal(err)
		}
		expect(t, "late-unswept", 450, 0)
	})
	t.Run("blocked reservation settles nothing", func(t *testing.T) {
		r, err := e.Reserve(ctx, "zero-limit", 1)
		if err != nil || r.Decision != budget.Block {
			t.Fatalf("%v %v", r.Decision, err)
		}
		if err := r.Settle(ctx, 1_000); err != nil {
			t.Fatal(err)
		}
		expect(t, "zero-limit", 0, 0)
	})
}

func testOutcomes(t *testing.T, s budget.Store) {
	ctx := context.Background()
	w := budget.Monthly().Window(Start())
	estimates := map[uint64]int64{}
	hold := func(id uint64) budget.Hold {
		return budget.Hold{Tenant: "outcomes", ID: id, Period: w, Estimate: estimates[id]}
	}
	reserve := func(id uint64, now time.Time, est int64) budget.ReserveResult {
		t.Helper()
		estimates[id] = est
		res, err := s.Reserve(ctx, budget.ReserveArgs{
			Hold: hold(id), Limit: Limit, DownshiftAt: 800_000,
			Now: now, Expires: now.Add(TTL), KeepUntil: w.End.Add(time.Hour), ForgetBefore: now.Add(-TTL),
		})
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		return res
	}
	sa := func(id uint64, now time.Time, actual int64, force bool) budget.SettleArgs {
		return budget.SettleArgs{Hold: hold(id), Actual: actual, Force: force, Now: now, KeepUntil: w.End.Add(time.Hour), ForgetBefore: now.Add(-TTL)}
	}
	check := func(name string, got budget.Outcome, err error, want budget.Outcome) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	usage := func(now time.Time) budget.Usage {
		t.Helper()
		u, err := s.Usage(ctx, budget.UsageArgs{Tenant: "outcomes", Period: w, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	now := Start()
	reserve(1, now, 100)
	o, err := s.Settle(ctx, sa(1, now, 90, false))
	check("settle", o, err, budget.Applied)
	o, err = s.Settle(ctx, sa(1, now, 90, false))
	check("settle again", o, err, budget.Duplicate)
	o, err = s.Release(ctx, sa(1, now, 0, false))
	check("release after settle", o, err, budget.Duplicate)

	reserve(2, now, 100)
	o, err = s.Release(ctx, sa(2, now, 0, false))
	check("release", o, err, budget.Applied)
	o, err = s.Settle(ctx, sa(2, now, 50, false))
	check("settle after release", o, err, budget.Duplicate)

	reserve(3, now, 100)
	later := now.Add(TTL)
	o, err = s.Settle(ctx, sa(3, later, 70, false))
	check("settle at expiry, unswept", o, err, budget.Late)

	reserve(4, now, 100)
	reserve(5, later, 0) // sweeps hold 4
	o, err = s.Settle(ctx, sa(4, later, 60, false))
	check("settle after sweep", o, err, budget.Late)
	o, err = s.Settle(ctx, sa(4, later, 60, false))
	check("late settle again", o, err, budget.Duplicate)

	// Stores may sweep expired holds lazily, but always before a decision
	// other than Allow: the large estimates below force the sweeps.
	reserve(6, now, 100)
	reserve(7, later, 850_000) // sweeps hold 6
	forgotten := later.Add(TTL + time.Second)
	reserve(8, forgotten, 0) // sweeps hold 7 and forgets hold 6's record
	o, err = s.Settle(ctx, sa(6, forgotten, 1, false))
	check("settle after the record is forgotten", o, err, budget.Duplicate)

	o, err = s.Settle(ctx, sa(9, later, 33, true))
	check("forced settle", o, err, budget.Applied)
	o, err = s.Settle(ctx, sa(9, later, 33, true))
	check("forced settle again", o, err, budget.Duplicate)
	o, err = s.Settle(ctx, sa(10, later, 33, false))
	check("unknown id", o, err, budget.Duplicate)

	if u := usage(forgotten); u.Spent != 90+70+60+33 || u.Held != 0 {
		t.Fatalf("usage = %+v, want spent %d held 0", u, 90+70+60+33)
	}
	// Release what is left.
	for _, id := range []uint64{5, 7, 8} {
		o, err = s.Release(ctx, sa(id, forgotten, 0, false))
		if err != nil || (o != budget.Applied && o != budget.Late) {
			t.Fatalf("release %d = %v, %v", id, o, err)
		}
	}
}

func testRetriedReserve(t *testing.T, s budget.Store) {
	ctx := context.Background()
	w := budget.Monthly().Window(Start())
	args := budget.ReserveArgs{
		Hold:  budget.Hold{Tenant: "retried", ID: 42, Period: w, Estimate: 700_000},
		Limit: Limit, DownshiftAt: 800_000,
		Now: Start(), Expires: Start().Add(TTL), KeepUntil: w.End.Add(time.Hour), ForgetBefore: Start().Add(-TTL),
	}
	for i := range 3 {
		res, err := s.Reserve(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		if res.Decision != budget.Allow || res.Held != 700_000 || res.Spent != 0 {
			t.Fatalf("call %d = %+v, want Allow held 700000 (held once)", i, res)
		}
	}
	u, err := s.Usage(ctx, budget.UsageArgs{Tenant: "retried", Period: w, Now: Start()})
	if err != nil || u.Held != 700_000 {
		t.Fatalf("usage = %+v, %v", u, err)
	}
}

// rolloverCase is one period boundary checked by the suite.
type rolloverCase struct {
	name         string
	period       budget.Period
	t1, t2       time.Time
	same         bool
	start1, end1 time.Time
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

var rolloverCases = []rolloverCase{
	{"month boundary", budget.Monthly(), utc("2026-01-31T23:59:59.999Z"), utc("2026-02-01T00:00:00Z"), false, utc("2026-01-01T00:00:00Z"), utc("2026-02-01T00:00:00Z")},
	{"december to january", budget.Monthly(), utc("2026-12-31T23:59:59.999Z"), utc("2027-01-01T00:00:00Z"), false, utc("2026-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")},
	{"29 february in its month", budget.Monthly(), utc("2028-02-29T00:00:00Z"), utc("2028-02-29T23:59:59.999Z"), true, utc("2028-02-01T00:00:00Z"), utc("2028-03-01T00:00:00Z")},
	{"29 february to march", budget.Monthly(), utc("2028-02-29T23:59:59.999Z"), utc("2028-03-01T00:00:00Z"), false, utc("2028-02-01T00:00:00Z"), utc("2028-03-01T00:00:00Z")},
	{"day into 29 february", budget.Daily(), utc("2028-02-28T23:59:59.999Z"), utc("2028-02-29T00:00:00Z"), false, utc("2028-02-28T00:00:00Z"), utc("2028-02-29T00:00:00Z")},
	{"within 29 february", budget.Daily(), utc("2028-02-29T00:00:00Z"), utc("2028-02-29T23:59:59.999Z"), true, utc("2028-02-29T00:00:00Z"), utc("2028-03-01T00:00:00Z")},
	{"iso week sunday to monday", budget.Weekly(), utc("2026-01-04T23:59:59.999Z"), utc("2026-01-05T00:00:00Z"), false, utc("2025-12-29T00:00:00Z"), utc("2026-01-05T00:00:00Z")},
	{"iso week across new year", budget.Weekly(), utc("2026-12-31T10:00:00Z"), utc("2027-01-03T23:59:59.999Z"), true, utc("2026-12-28T00:00:00Z"), utc("2027-01-04T00:00:00Z")},
	{"fixed hour", budget.Every(time.Hour), utc("2026-01-31T23:59:59.999Z"), utc("2026-02-01T00:00:00Z"), false, utc("2026-01-31T23:00:00Z"), utc("2026-02-01T00:00:00Z")},
	{"fixed 90m aligned to the epoch", budget.Every(90 * time.Minute), utc("2026-01-01T01:29:59.999Z"), utc("2026-01-01T01:30:00Z"), false, utc("2026-01-01T00:00:00Z"), utc("2026-01-01T01:30:00Z")},
}

func testRollover(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	zones := []string{"UTC", "America/Los_Angeles", "Pacific/Kiritimati"}
	for _, tc := range rolloverCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			for _, zone := range zones {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					t.Fatal(err)
				}
				// The clock reports local times of another zone; the
				// periods must not move.
				tenant := "rollover-" + zone
				fc := clock.NewFake(tc.t1.In(loc))
				e := newEnforcer(t, s, fc, budget.WithPeriod(tc.period))
				r, err := e.Reserve(ctx, tenant, 100)
				if err != nil || r.Decision != budget.Allow {
					t.Fatalf("%s: Reserve = %v, %v", zone, r.Decision, err)
				}
				if !r.PeriodStart.Equal(tc.start1) || !r.PeriodEnd.Equal(tc.end1) || r.PeriodEnd.Location() != time.UTC {
					t.Fatalf("%s: period = %v..%v, want %v..%v in UTC", zone, r.PeriodStart, r.PeriodEnd, tc.start1, tc.end1)
				}
				spend(t, e, tenant, 300)
				fc.Set(tc.t2.In(loc))
				// The reservation from the first instant settles into its
				// own period even after the rollover.
				if err := r.Settle(ctx, 50); err != nil {
					t.Fatal(err)
				}
				st := status(t, e, tenant)
				want := int64(0)
				if tc.same {
					want = 350
				}
				if st.Spent != want || st.Held != 0 {
					t.Fatalf("%s: after moving to %v: spent %d held %d, want %d 0", zone, tc.t2, st.Spent, st.Held, want)
				}
				if tc.same != st.PeriodStart.Equal(tc.start1) {
					t.Fatalf("%s: second period starts %v", zone, st.PeriodStart)
				}
				if !tc.same {
					if !st.PeriodStart.Equal(tc.end1) {
						t.Fatalf("%s: new period starts %v, want %v", zone, st.PeriodStart, tc.end1)
					}
					u, err := s.Usage(ctx, budget.UsageArgs{Tenant: tenant, Period: budget.Window{Start: tc.start1, End: tc.end1}, Now: tc.t2})
					if err != nil || u.Spent != 350 {
						t.Fatalf("%s: old period usage = %+v, %v; want spent 350", zone, u, err)
					}
				}
			}
		})
	}
}

// HostileTenants returns tenant ids that must each get their own budget:
// key-syntax characters, control bytes, invalid UTF-8 and the longest
// accepted id.
func HostileTenants() []string {
	return []string{
		"a}:{b", "a", "a}", "{a}", "{a", "a:b", "a\nb", "a\r\nb", "a b", "a\x00b", "a*", "a?", "a[b]",
		"é", "\xff\xfe", "llmops:budget:{a}", strings.Repeat("x", budget.MaxTenantLen),
		strings.Repeat("x", budget.MaxTenantLen-1) + "}",
	}
}

func testHostileTenants(t *testing.T, s budget.Store) {
	ctx := context.Background()
	e := newEnforcer(t, s, clock.NewFake(Start()))
	for i, id := range HostileTenants() {
		spend(t, e, id, int64(i+1))
	}
	for i, id := range HostileTenants() {
		if st := status(t, e, id); st.Spent != int64(i+1) {
			t.Fatalf("tenant %q: spent %d, want %d (ids collide)", id, st.Spent, i+1)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 10_000), strings.Repeat("y", budget.MaxTenantLen+1)} {
		r, err := e.Reserve(ctx, id, 1)
		if !errors.Is(err, budget.ErrInvalidTenant) || r.Decision != budget.Block {
			t.Fatalf("tenant of %d bytes: %v, %v; want Block, ErrInvalidTenant", len(id), r.Decision, err)
		}
	}
}

// Concurrent runs goroutines goroutines against each store (one Enforcer
// per store, all on one tenant), each making reservations reservations
// with random estimates and settling at or below the estimate (or
// releasing). It checks that no admitted reservation ever saw the tenant
// at or past its limit, that the stored spend never exceeds the limit, and
// that the stored spend equals the sum of the settled costs exactly.
// Stores may be the same store or several clients of one shared store.
func Concurrent(t *testing.T, stores []budget.Store, goroutines, reservations int) {
	t.Helper()
	ctx := context.Background()
	fc := clock.NewFake(Start())
	const limit = 5_000_000
	tenant := fmt.Sprintf("concurrent-%d", rand.Uint64())
	var enforcers []*budget.Enforcer
	for _, s := range stores {
		enforcers = append(enforcers, newEnforcer(t, s, fc, budget.WithTenantLimit(tenant, limit)))
	}
	var settled, admitted, blocked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(enforcers)*goroutines)
	for ei, e := range enforcers {
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(uint64(ei), uint64(g)))
				for range reservations {
					est := 1 + rnd.Int64N(20_000)
					r, err := e.Reserve(ctx, tenant, est)
					if err != nil {
						errs <- fmt.Errorf("Reserve: %w", err)
						return
					}
					if !r.Decision.Admitted() {
						blocked.Add(1)
						continue
					}
					admitted.Add(1)
					if r.Spent+r.Held >= limit {
						errs <- fmt.Errorf("admitted with spent %d + held %d >= limit %d", r.Spent, r.Held, limit)
						return
					}
					if rnd.IntN(10) == 0 {
						if err := r.Release(ctx); err != nil {
							errs <- err
							return
						}
						continue
					}
					actual := rnd.Int64N(est + 1)
					if err := r.Settle(ctx, actual); err != nil {
						errs <- err
						return
					}
					settled.Add(actual)
					if rnd.IntN(20) == 0 { // a careless caller settles twice
						if err := r.Settle(ctx, actual); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := enforcers[0].Status(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if st.Spent != settled.Load() || st.Held != 0 {
		t.Fatalf("stored spent %d held %d; sum of settled %d (lost or doubled)", st.Spent, st.Held, settled.Load())
	}
	if st.Spent > limit {
		t.Fatalf("spent %d > limit %d", st.Spent, limit)
	}
	if blocked.Load() == 0 || admitted.Load() == 0 {
		t.Fatalf("admitted %d blocked %d: the run must hit the limit to mean anything", admitted.Load(), blocked.Load())
	}
	t.Logf("%d enforcers x %d goroutines x %d: admitted %d, blocked %d, spent %d of %d",
		len(enforcers), goroutines, reservations, admitted.Load(), blocked.Load(), st.Spent, limit)
}
