package budget_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/clock"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestDecisionAndOutcomeStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{budget.Allow.String(), "allow"},
		{budget.Downshift.String(), "downshift"},
		{budget.Block.String(), "block"},
		{budget.Decision(0).String(), "Decision(0)"},
		{budget.Applied.String(), "applied"},
		{budget.Late.String(), "late"},
		{budget.Duplicate.String(), "duplicate"},
		{budget.Outcome(0).String(), "Outcome(0)"},
		{budget.Monthly().String(), "month"},
		{budget.Every(time.Hour).String(), "every 1h0m0s"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	var zero budget.Decision
	if zero == budget.Allow || zero.Admitted() {
		t.Fatal("the zero Decision admits")
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	m := budget.NewMemory()
	limit := budget.WithDefaultLimit(1000)
	tests := []struct {
		name  string
		store budget.Store
		opts  []budget.Option
	}{
		{"nil store", nil, []budget.Option{limit}},
		{"no limit", m, nil},
		{"nil option", m, []budget.Option{limit, nil}},
		{"negative default limit", m, []budget.Option{budget.WithDefaultLimit(-1)}},
		{"default limit above MaxAmount", m, []budget.Option{budget.WithDefaultLimit(budget.MaxAmount + 1)}},
		{"negative tenant limit", m, []budget.Option{limit, budget.WithTenantLimit("t", -5)}},
		{"empty tenant", m, []budget.Option{limit, budget.WithTenantLimit("", 5)}},
		{"tenant given twice", m, []budget.Option{limit, budget.WithTenantLimit("t", 5), budget.WithTenantLimit("t", 6)}},
		{"nil limit func", m, []budget.Option{budget.WithLimitFunc(nil)}},
		{"downshift NaN", m, []budget.Option{limit, budget.WithDownshiftAt(math.NaN())}},
		{"downshift +Inf", m, []budget.Option{limit, budget.WithDownshiftAt(math.Inf(1))}},
		{"downshift 0", m, []budget.Option{limit, budget.WithDownshiftAt(0)}},
		{"downshift over 100", m, []budget.Option{limit, budget.WithDownshiftAt(100.01)}},
		{"downshift three decimals", m, []budget.Option{limit, budget.WithDownshiftAt(80.125)}},
		{"zero period", m, []budget.Option{limit, budget.WithPeriod(budget.Period{})}},
		{"Every(0)", m, []budget.Option{limit, budget.WithPeriod(budget.Every(0))}},
		{"Every(-1h)", m, []budget.Option{limit, budget.WithPeriod(budget.Every(-time.Hour))}},
		{"Every sub-millisecond", m, []budget.Option{limit, budget.WithPeriod(budget.Every(1500 * time.Microsecond))}},
		{"TTL 0", m, []budget.Option{limit, budget.WithReservationTTL(0)}},
		{"retention 0", m, []budget.Option{limit, budget.WithRetention(0)}},
		{"retention under twice the TTL", m, []budget.Option{limit, budget.WithReservationTTL(time.Hour), budget.WithRetention(time.Hour)}},
		{"timeout 0", m, []budget.Option{limit, budget.WithTimeout(0)}},
		{"negative allowance", m, []budget.Option{limit, budget.WithFailOpen(-1)}},
		{"nil clock", m, []budget.Option{limit, budget.WithClock(nil)}},
		{"nil observer", m, []budget.Option{limit, budget.WithObserver(nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := budget.New(tc.store, tc.opts...); !errors.Is(err, budget.ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := budget.New(m, limit, budget.WithDownshiftAt(33.33), budget.WithPeriod(budget.Every(time.Millisecond))); err != nil {
		t.Fatalf("valid configuration rejected: %v", err)
	}
}

func TestFromUSD(t *testing.T) {
	tests := []struct {
		usd     float64
		want    int64
		wantErr bool
	}{
		{0, 0, false},
		{0.1, 100_000, false},
		{1.23, 1_230_000, false},
		{0.0000001, 1, false},         // a tenth of a micro-dollar rounds up
		{1.0000001, 1_000_001, false}, // rounds up
		{9_000_000_000, 9_000_000_000_000_000, false},
		{10_000_000_000, 0, true}, // above MaxAmount
		{-0.000001, 0, true},
		{math.NaN(), 0, true},
		{math.Inf(1), 0, true},
		{math.Inf(-1), 0, true},
	}
	for _, tc := range tests {
		got, err := budget.FromUSD(tc.usd)
		if tc.wantErr {
			if !errors.Is(err, budget.ErrInvalidAmount) {
				t.Errorf("FromUSD(%v) = %d, %v; want ErrInvalidAmount", tc.usd, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FromUSD(%v) = %d, %v; want %d", tc.usd, got, err, tc.want)
		}
	}
}

func TestPeriodWindow(t *testing.T) {
	tests := []struct {
		p          budget.Period
		at         string
		start, end string
	}{
		{budget.Monthly(), "2026-01-31T23:59:59.999Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{budget.Monthly(), "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{budget.Monthly(), "2027-02-28T12:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"},
		{budget.Monthly(), "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
		{budget.Monthly(), "2026-01-31T16:00:00-08:00", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}, // 00:00 UTC on Feb 1
		{budget.Daily(), "2026-03-08T10:00:00Z", "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"},        // US DST day: still 24h
		{budget.Weekly(), "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"},       // Monday
		{budget.Weekly(), "2026-01-11T23:59:59.999Z", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"},   // Sunday
		{budget.Weekly(), "2027-01-01T00:00:00+14:00", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},  // Kiritimati new year is 2026 in UTC
		{budget.Every(time.Hour), "2026-01-01T00:59:59.999Z", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
		{budget.Every(7 * time.Hour), "1969-12-31T20:00:00Z", "1969-12-31T17:00:00Z", "1970-01-01T00:00:00Z"}, // before the epoch
	}
	for _, tc := range tests {
		w := tc.p.Window(utc(t, tc.at))
		if !w.Start.Equal(utc(t, tc.start)) || !w.End.Equal(utc(t, tc.end)) || w.Start.Location() != time.UTC {
			t.Errorf("%v at %s = %v, want %s/%s in UTC", tc.p, tc.at, w, tc.start, tc.end)
		}
		if !w.Contains(utc(t, tc.at)) || w.Contains(w.End) {
			t.Errorf("%v: Contains is not half-open", w)
		}
	}
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLimitSources(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	lf := func(_ context.Context, tenant string) (int64, error) {
		calls.Add(1)
		switch tenant {
		case "broken":
			return 0, errors.New("plans database down")
		case "negative":
			return -1, nil
		}
		return 2_000, nil
	}
	e, err := budget.New(budget.NewMemory(), budget.WithClock(clock.NewFake(t0)), budget.WithDefaultLimit(1_000),
		budget.WithLimitFunc(lf), budget.WithTenantLimit("vip", 5_000))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant  string
		limit   int64
		wantErr error
	}{
		{"vip", 5_000, nil},
		{"plan", 2_000, nil},
		{"broken", 0, budget.ErrStoreUnavailable},
		{"negative", 0, budget.ErrInvalidAmount},
	}
	for _, tc := range tests {
		r, err := e.Reserve(ctx, tc.tenant, 0)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || r.Decision != budget.Block {
				t.Errorf("%s: %v, %v; want Block, %v", tc.tenant, r.Decision, err, tc.wantErr)
			}
			continue
		}
		if err != nil || r.Limit != tc.limit {
			t.Errorf("%s: limit %d, %v; want %d", tc.tenant, r.Limit, err, tc.limit)
		}
	}
	if calls.Load() != 3 {
		t.Fatalf("LimitFunc called %d times, want 3 (not for overrides)", calls.Load())
	}
}

func TestDownshiftThresholdIsConfigurable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		percent  float64
		estimate int64
		want     budget.Decision
	}{
		{50, 499, budget.Allow},
		{50, 500, budget.Downshift},
		{33.33, 333, budget.Allow},     // ceil(1000 * 33.33%) = 334
		{33.33, 334, budget.Downshift}, //
		{100, 999, budget.Allow},       // 100 % disables Downshift
		{100, 1000, budget.Block},
	}
	for _, tc := range tests {
		e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(1000), budget.WithDownshiftAt(tc.percent))
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := e.Reserve(ctx, "t", tc.estimate); r.Decision != tc.want {
			t.Errorf("%v%% with level %d: %v, want %v", tc.percent, tc.estimate, r.Decision, tc.want)
		}
	}
}

// flaky is a Store that fails while down is set, hangs while hang is set,
// and records whether calls carried a deadline.
type flaky struct {
	inner       budget.Store
	down, hang  atomic.Bool
	noDeadline  atomic.Int64
	maxDeadline atomic.Int64 // longest time to deadline seen, ns
}

var errBroken = errors.New("connection refused")

func (f *flaky) check(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		f.noDeadline.Add(1)
	} else if left := int64(time.Until(d)); left > f.maxDeadline.Load() {
		f.maxDeadline.Store(left)
	}
	if f.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.down.Load() {
		return errBroken
	}
	return nil
}

func (f *flaky) Reserve(ctx context.Context, a budget.ReserveArgs) (budget.ReserveResult, error) {
	if err := f.check(ctx); err != nil {
		return budget.ReserveResult{}, err
	}
	return f.inner.Reserve(ctx, a)
}

func (f *flaky) Settle(ctx context.Context, a budget.SettleArgs) (budget.Outcome, error) {
	if err := f.check(ctx); err != nil {
		return 0, err
	}
	return f.inner.Settle(ctx, a)
}

func (f *flaky) Release(ctx context.Context, a budget.SettleArgs) (budget.Outcome, error) {
	if err := f.check(ctx); err != nil {
		return 0, err
	}
	return f.inner.Release(ctx, a)
}

func (f *flaky) Usage(ctx context.Context, a budget.UsageArgs) (budget.Usage, error) {
	if err := f.check(ctx); err != nil {
		return budget.Usage{}, err
	}
	return f.inner.Usage(ctx, a)
}

type events struct {
	decisions, breaches, storeErrors atomic.Int64
	last                             atomic.Value
}

func (ev *events) observer() budget.Observer {
	return budget.ObserverFuncs{
		OnDecision: func(_ string, d budget.Decision, _, _, _, _ int64) {
			ev.decisions.Add(1)
			ev.last.Store(d)
		},
		OnBreach:     func(string, budget.Decision) { ev.breaches.Add(1) },
		OnStoreError: func(string, string, error) { ev.storeErrors.Add(1) },
	}
}

func TestFailClosed(t *testing.T) {
	ctx := context.Background()
	f := &flaky{inner: budget.NewMemory()}
	ev := &events{}
	e, err := budget.New(f, budget.WithDefaultLimit(1000), budget.WithClock(clock.NewFake(t0)),
		budget.WithTimeout(time.Second), budget.WithObserver(ev.observer()))
	if err != nil {
		t.Fatal(err)
	}
	held, _ := e.Reserve(ctx, "t", 100)
	f.down.Store(true)
	r, err := e.Reserve(ctx, "t", 1)
	if r.Decision != budget.Block || !errors.Is(err, budget.ErrStoreUnavailable) || !errors.Is(err, errBroken) {
		t.Fatalf("store down: %v, %v; want Block and an error matching ErrStoreUnavailable and the cause", r.Decision, err)
	}
	if err := held.Settle(ctx, 50); !errors.Is(err, budget.ErrStoreUnavailable) {
		t.Fatalf("Settle while down: %v", err)
	}
	if ev.storeErrors.Load() != 2 || ev.last.Load() != budget.Block {
		t.Fatalf("observer: %d store errors, last decision %v", ev.storeErrors.Load(), ev.last.Load())
	}
	f.down.Store(false)
	if err := held.Settle(ctx, 50); err != nil { // a failed Settle can be retried
		t.Fatal(err)
	}
	if st, err := e.Status(ctx, "t"); err != nil || st.Spent != 50 || st.Held != 0 {
		t.Fatalf("after recovery: %+v, %v", st, err)
	}
	if f.noDeadline.Load() != 0 || f.maxDeadline.Load() > int64(time.Second) {
		t.Fatalf("store calls without the timeout: %d; longest deadline %v", f.noDeadline.Load(), time.Duration(f.maxDeadline.Load()))
	}
}

func TestTimeoutBoundsAHangingStore(t *testing.T) {
	f := &flaky{inner: budget.NewMemory()}
	f.hang.Store(true)
	e, err := budget.New(f, budget.WithDefaultLimit(1000), budget.WithTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Reserve(context.Background(), "t", 1)
	if r.Decision != budget.Block || !errors.Is(err, budget.ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging store: %v, %v", r.Decision, err)
	}
}

func TestFailOpenAllowance(t *testing.T) {
	ctx := context.Background()
	f := &flaky{inner: budget.NewMemory()}
	fc := clock.NewFake(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
	ev := &events{}
	e, err := budget.New(f, budget.WithDefaultLimit(1_000_000), budget.WithClock(fc),
		budget.WithFailOpen(1_000), budget.WithObserver(ev.observer()))
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	admit := func() (n int, rs []budget.Reservation) {
		for range 10 {
			r, err := e.Reserve(ctx, "t", 300)
			switch {
			case r.Decision == budget.Allow && r.Degraded && err == nil:
				rs = append(rs, r)
			case r.Decision == budget.Block && errors.Is(err, budget.ErrStoreUnavailable):
			default:
				t.Fatalf("unexpected %+v, %v", r, err)
			}
		}
		return len(rs), rs
	}
	n, rs := admit()
	if n != 3 { // 900 < 1000; a fourth would reach it
		t.Fatalf("admitted %d degraded reservations of 300 with an allowance of 1000, want 3", n)
	}
	// Settling below the estimate returns the difference to the allowance.
	if err := rs[0].Settle(ctx, 0); !errors.Is(err, budget.ErrStoreUnavailable) {
		t.Fatalf("Settle while down: %v", err)
	}
	if n, _ := admit(); n != 1 {
		t.Fatalf("after settling 0: admitted %d, want 1", n)
	}
	// Settling again does not return it twice.
	_ = rs[0].Settle(ctx, 0)
	if n, _ := admit(); n != 0 {
		t.Fatalf("after a second settle: admitted %d, want 0", n)
	}
	// The allowance is per period.
	fc.Set(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if n, _ := admit(); n != 3 {
		t.Fatalf("new period: admitted %d, want 3", n)
	}
	f.down.Store(false)
	if r, err := e.Reserve(ctx, "t", 300); err != nil || r.Degraded || r.Decision != budget.Allow {
		t.Fatalf("recovered: %+v, %v", r, err)
	}
	// A degraded reservation settled when the store is back is charged.
	if err := rs[1].Settle(ctx, 123); err != nil {
		t.Fatal(err)
	}
	if err := rs[1].Settle(ctx, 123); err != nil {
		t.Fatal(err)
	}
	u, err := f.inner.Usage(ctx, budget.UsageArgs{Tenant: "t", Period: budget.Monthly().Window(t0.AddDate(0, -2, 0)), Now: fc.Now()})
	if err != nil || u.Spent != 123 {
		t.Fatalf("January usage = %+v, %v; want the degraded reservation's 123 charged once", u, err)
	}
	if ev.storeErrors.Load() == 0 || ev.decisions.Load() == 0 {
		t.Fatal("observer not called")
	}
}

func TestObserverSeesDecisionsAndBreaches(t *testing.T) {
	ctx := context.Background()
	ev := &events{}
	var breaches []budget.Decision
	obs := budget.ObserverFuncs{
		OnDecision: ev.observer().Decision,
		OnBreach:   func(_ string, d budget.Decision) { breaches = append(breaches, d) },
	}
	e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(1000), budget.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	for _, est := range []int64{100, 700, 500} { // allow, downshift (800), block (1300)
		_, _ = e.Reserve(ctx, "t", est)
	}
	if ev.decisions.Load() != 3 || len(breaches) != 2 || breaches[0] != budget.Downshift || breaches[1] != budget.Block {
		t.Fatalf("decisions %d, breaches %v", ev.decisions.Load(), breaches)
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	fc := clock.NewFake(t0)
	e, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(1000), budget.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	models := budget.Models{Primary: "gpt-big", Downshift: "gpt-small"}
	var used []string
	task := func(cost int64, err error) func(context.Context, string) (int64, error) {
		return func(_ context.Context, model string) (int64, error) {
			used = append(used, model)
			return cost, err
		}
	}
	if _, err := e.Run(ctx, "t", 100, models, task(700, nil)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("tool failed")
	if _, err := e.Run(ctx, "t", 100, models, task(100, boom)); !errors.Is(err, boom) {
		t.Fatalf("fn error lost: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		_, _ = e.Run(ctx, "t", 100, models, func(context.Context, string) (int64, error) { panic("agent bug") })
	}()
	_, err = e.Run(ctx, "t", 200, models, task(0, nil))
	var be *budget.BlockedError
	if !errors.Is(err, budget.ErrBlocked) || !errors.As(err, &be) {
		t.Fatalf("blocked Run: %v", err)
	}
	wantRetry := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Sub(t0)
	if be.Spent != 800 || be.Held != 0 || be.Limit != 1000 || be.RetryAfter != wantRetry {
		t.Fatalf("BlockedError = %+v, want spent 800 held 0 limit 1000 retry after %v", be, wantRetry)
	}
	if len(used) != 2 || used[0] != "gpt-big" || used[1] != "gpt-small" {
		t.Fatalf("models used: %v", used) // the panicking task is not recorded
	}
	if st, _ := e.Status(ctx, "t"); st.Spent != 800 || st.Held != 0 || st.Decision != budget.Downshift {
		t.Fatalf("status = %+v; the panicking run's hold must be released", st)
	}
}

func TestModelsFor(t *testing.T) {
	m := budget.Models{Primary: "big", Downshift: "small"}
	only := budget.Models{Primary: "big"}
	tests := []struct {
		m    budget.Models
		d    budget.Decision
		want string
	}{
		{m, budget.Allow, "big"},
		{m, budget.Downshift, "small"},
		{m, budget.Block, ""},
		{m, 0, ""},
		{only, budget.Downshift, "big"},
	}
	for _, tc := range tests {
		if got := tc.m.For(tc.d); got != tc.want {
			t.Errorf("%+v.For(%v) = %q, want %q", tc.m, tc.d, got, tc.want)
		}
	}
	if (budget.Reservation{}).Model(m) != "" {
		t.Error("zero Reservation maps to a model")
	}
}

func TestZeroReservationIsInert(t *testing.T) {
	var r budget.Reservation
	if err := r.Settle(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.RetryAfter() != 0 || r.Decision.Admitted() {
		t.Fatal("zero Reservation is not inert")
	}
}
