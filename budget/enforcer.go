package budget

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Enforcer decides, per tenant, whether a request may spend: it reserves
// the request's estimated cost in a Store, answers Allow, Downshift or
// Block, and later settles the actual cost.
//
// An Enforcer is safe for concurrent use by multiple goroutines. It starts
// no goroutines and needs no Close.
type Enforcer struct {
	store    Store
	cfg      config
	blocking bool
	bound    *deadlines // bounds each store call when blocking
	idBase   uint64
	window   atomic.Pointer[cachedWindow] // the last period computed, reused while current
	open     allowance
	_        [64]byte
	ids      atomic.Uint64 // written on every Reserve: kept off the read-mostly fields' cache line
	_        [56]byte
}

// New returns an Enforcer over store. WithDefaultLimit or WithLimitFunc is
// required; every other setting has a default (see the constants of this
// package). Invalid settings return an error matching ErrInvalidConfig.
func New(store Store, opts ...Option) (*Enforcer, error) {
	if store == nil {
		return nil, configErr("nil Store")
	}
	cfg := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, configErr("nil Option")
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.hasDefault && cfg.limitFunc == nil {
		return nil, configErr("no limit: use WithDefaultLimit or WithLimitFunc")
	}
	if cfg.retention < 2*cfg.ttl {
		return nil, configErr("retention %s is less than twice the reservation TTL %s", cfg.retention, cfg.ttl)
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("budget: reservation id seed: %w", err)
	}
	cfg.defaultLimit.downshiftAt = thresholdAmount(cfg.defaultLimit.limit, cfg.downshiftBP)
	for t, l := range cfg.limits {
		l.downshiftAt = thresholdAmount(l.limit, cfg.downshiftBP)
		cfg.limits[t] = l
	}
	_, isLocal := store.(local)
	e := &Enforcer{store: store, cfg: cfg, blocking: !isLocal, idBase: binary.LittleEndian.Uint64(seed[:])}
	e.open.max = cfg.allowance
	if e.blocking {
		e.bound = newDeadlines(cfg.timeout)
	}
	return e, nil
}

// Period returns the Enforcer's period.
func (e *Enforcer) Period() Period { return e.cfg.period }

// Reserve checks the tenant's budget and, if the request is admitted,
// holds estimateMicroUSD (the request's worst-case cost, rounded up) until
// the reservation is settled, released or expires.
//
// The decision compares the level L = spent + held + estimate with the
// tenant's limit: Block when L >= limit (so a limit of 0 always blocks and
// an admitted request never takes the tenant past its limit), else
// Downshift when L >= ceil(limit * downshift% / 100), else Allow. Both
// bounds are inclusive.
//
// A decision is a value, not an error: a blocked tenant gets Decision
// Block and a nil error. The error is non-nil when something broke: an
// invalid tenant or amount (ErrInvalidTenant, ErrInvalidAmount; Decision
// Block), or a store failure (ErrStoreUnavailable; Decision Block under
// fail-closed). Under fail-open a store failure within the allowance
// returns Decision Allow, Degraded set, and a nil error.
func (e *Enforcer) Reserve(ctx context.Context, tenant string, estimateMicroUSD int64) (Reservation, error) {
	now := e.cfg.clock.Now()
	cw := e.windowAt(now)
	w := cw.Window
	r := Reservation{
		Decision:    Block,
		Tenant:      tenant,
		Estimate:    estimateMicroUSD,
		PeriodStart: w.Start,
		PeriodEnd:   w.End,
		e:           e,
		at:          now,
	}
	if err := checkTenant(tenant); err != nil {
		return r, err
	}
	if err := checkAmount("estimate", estimateMicroUSD); err != nil {
		return r, err
	}
	ctx, cancel := e.storeContext(ctx)
	defer cancel()
	limit, dsAt, err := e.limit(ctx, tenant)
	if err != nil {
		if errors.Is(err, ErrInvalidAmount) {
			e.observeDecision(tenant, Block, estimateMicroUSD, 0, 0, 0)
			return r, err
		}
		return e.unavailable(r, "limit", err)
	}
	r.Limit = limit
	r.ID = e.nextID()
	res, err := e.store.Reserve(ctx, ReserveArgs{
		Hold:         Hold{Tenant: tenant, ID: r.ID, Period: w, Estimate: estimateMicroUSD},
		Limit:        limit,
		DownshiftAt:  dsAt,
		Now:          now,
		Expires:      now.Add(e.cfg.ttl),
		KeepUntil:    cw.keepUntil,
		ForgetBefore: now.Add(-e.cfg.ttl),
	})
	if err != nil {
		return e.unavailable(r, "reserve", err)
	}
	r.Decision, r.Spent, r.Held = res.Decision, res.Spent, res.Held
	r.Remaining = remaining(limit, res.Spent, res.Held)
	held := res.Held
	if res.Decision.Admitted() {
		held -= estimateMicroUSD
	}
	e.observeDecision(tenant, res.Decision, estimateMicroUSD, res.Spent, held, limit)
	return r, nil
}

// Status returns the tenant's figures for the current period without
// reserving anything. Its Decision is what a zero estimate would get now.
// Store failures are returned as errors matching ErrStoreUnavailable
// whatever the failure policy.
func (e *Enforcer) Status(ctx context.Context, tenant string) (Status, error) {
	now := e.cfg.clock.Now()
	w := e.windowAt(now).Window
	st := Status{Tenant: tenant, Decision: Block, PeriodStart: w.Start, PeriodEnd: w.End}
	if err := checkTenant(tenant); err != nil {
		return st, err
	}
	ctx, cancel := e.storeContext(ctx)
	defer cancel()
	limit, dsAt, err := e.limit(ctx, tenant)
	if err != nil {
		if !errors.Is(err, ErrInvalidAmount) {
			err = e.wrapUnavailable("limit", tenant, err)
		}
		return st, err
	}
	u, err := e.store.Usage(ctx, UsageArgs{Tenant: tenant, Period: w, Now: now})
	if err != nil {
		return st, e.wrapUnavailable("status", tenant, err)
	}
	st.Limit, st.Spent, st.Held = limit, u.Spent, u.Held
	st.Remaining = remaining(limit, u.Spent, u.Held)
	level := u.Spent + u.Held
	switch {
	case limit <= 0 || level >= limit:
		st.Decision = Block
	case level >= dsAt:
		st.Decision = Downshift
	default:
		st.Decision = Allow
	}
	return st, nil
}

// Run is an agent loop's budget in one call: it reserves estimateMicroUSD
// for the tenant, picks the model for the decision from models, runs fn
// with it, and settles what fn reports as the actual cost (with a context
// that ignores fn's cancellation, because the money was spent anyway). If
// fn panics, the reservation is released and the panic continues.
//
// When the request is blocked fn is not run and the error is a
// *BlockedError (matching ErrBlocked), or a store error matching
// ErrStoreUnavailable. Otherwise the error joins fn's and Settle's.
func (e *Enforcer) Run(ctx context.Context, tenant string, estimateMicroUSD int64, models Models,
	fn func(ctx context.Context, model string) (actualMicroUSD int64, err error)) (Reservation, error) {
	r, err := e.Reserve(ctx, tenant, estimateMicroUSD)
	if !r.Decision.Admitted() {
		if err == nil {
			err = &BlockedError{Tenant: tenant, Spent: r.Spent, Held: r.Held, Limit: r.Limit, RetryAfter: r.RetryAfter()}
		}
		return r, err
	}
	settled := false
	defer func() {
		if !settled {
			_ = r.Release(context.WithoutCancel(ctx))
		}
	}()
	actual, ferr := fn(ctx, models.For(r.Decision))
	settled = true
	serr := r.Settle(context.WithoutCancel(ctx), actual)
	return r, errors.Join(ferr, serr)
}

// windowAt returns the period containing now, computing it only when the
// cached one does not contain now (once per period, or when a test clock
// jumps).
func (e *Enforcer) windowAt(now time.Time) *cachedWindow {
	if w := e.window.Load(); w != nil && w.Contains(now) {
		return w
	}
	w := e.cfg.period.Window(now)
	cw := &cachedWindow{Window: w, keepUntil: w.End.Add(e.cfg.retention)}
	e.window.Store(cw)
	return cw
}

type cachedWindow struct {
	Window
	keepUntil time.Time
}

// storeContext bounds ctx by the store timeout when the store can block
// (see deadlines), and returns it unchanged otherwise, or when its own
// deadline (wall clock, like every context deadline) is already no later
// than the timeout from now. The caller defers cancel.
func (e *Enforcer) storeContext(ctx context.Context) (_ context.Context, cancel context.CancelFunc) {
	if !e.blocking {
		return ctx, noCancel
	}
	return e.bound.bound(ctx)
}

// limit returns the tenant's limit and its downshift level.
func (e *Enforcer) limit(ctx context.Context, tenant string) (limit, downshiftAt int64, err error) {
	if l, ok := e.cfg.limits[tenant]; ok {
		return l.limit, l.downshiftAt, nil
	}
	if e.cfg.limitFunc == nil {
		return e.cfg.defaultLimit.limit, e.cfg.defaultLimit.downshiftAt, nil
	}
	l, err := e.cfg.limitFunc(ctx, tenant)
	if err != nil {
		return 0, 0, err
	}
	if l < 0 || l > MaxAmount {
		return 0, 0, fmt.Errorf("%w: limit %d micro-USD of tenant %q is outside [0, %d]", ErrInvalidAmount, l, tenant, MaxAmount)
	}
	return l, thresholdAmount(l, e.cfg.downshiftBP), nil
}

func (e *Enforcer) nextID() uint64 {
	// splitmix64 of a per-Enforcer random base plus a counter: unique
	// within the Enforcer, and across Enforcers with probability 1-2^-64
	// per pair of live reservations.
	z := e.idBase + e.ids.Add(1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (e *Enforcer) wrapUnavailable(op, tenant string, err error) error {
	if e.cfg.observer != nil {
		e.cfg.observer.StoreError(op, tenant, err)
	}
	if errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
}

// unavailable applies the failure policy to a failed Reserve.
func (e *Enforcer) unavailable(r Reservation, op string, err error) (Reservation, error) {
	err = e.wrapUnavailable(op, r.Tenant, err)
	if e.cfg.failOpen {
		if e.open.admit(r.PeriodStart.UnixMilli(), r.Estimate) {
			if r.ID == 0 {
				r.ID = e.nextID()
			}
			r.Decision, r.Degraded = Allow, true
			r.local = &localHold{period: r.PeriodStart.UnixMilli()}
			e.observeDecision(r.Tenant, Allow, r.Estimate, 0, 0, r.Limit)
			return r, nil
		}
	}
	e.observeDecision(r.Tenant, Block, r.Estimate, 0, 0, r.Limit)
	return r, err
}

func (e *Enforcer) observeDecision(tenant string, d Decision, estimate, spent, held, limit int64) {
	if o := e.cfg.observer; o != nil {
		o.Decision(tenant, d, estimate, spent, held, limit)
		if d == Downshift || d == Block {
			o.Breach(tenant, d)
		}
	}
}

func (e *Enforcer) settleArgs(r Reservation, actual int64) SettleArgs {
	// A store that never blocks (Memory) is given the reservation's time
	// rather than a fresh reading of the clock, which is the most
	// expensive step of an in-memory settle. No amount depends on it: a
	// settle of an expired hold records the same as a late settle, only
	// its Outcome label differs, and an earlier ForgetBefore keeps records
	// longer. Stores reached over the network get the current time.
	now := r.at
	if e.blocking || r.local != nil {
		now = e.cfg.clock.Now()
	}
	return SettleArgs{
		Hold:         Hold{Tenant: r.Tenant, ID: r.ID, Period: Window{Start: r.PeriodStart, End: r.PeriodEnd}, Estimate: r.Estimate},
		Actual:       actual,
		Now:          now,
		KeepUntil:    r.PeriodEnd.Add(e.cfg.retention),
		ForgetBefore: now.Add(-e.cfg.ttl),
	}
}

func remaining(limit, spent, held int64) int64 {
	if r := limit - spent - held; r > 0 {
		return r
	}
	return 0
}

func checkTenant(tenant string) error {
	if tenant == "" || len(tenant) > MaxTenantLen {
		return fmt.Errorf("%w: length %d outside [1, %d]", ErrInvalidTenant, len(tenant), MaxTenantLen)
	}
	return nil
}

// allowance is the fail-open budget of one Enforcer in one period.
type allowance struct {
	mu     sync.Mutex
	max    int64
	period int64 // window start, Unix ms
	used   int64
}

func (a *allowance) admit(period, estimate int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if period != a.period {
		a.period, a.used = period, 0
	}
	if a.used+estimate >= a.max {
		return false
	}
	a.used += estimate
	return true
}

func (a *allowance) adjust(period, delta int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if period == a.period {
		a.used += delta
	}
}

// localHold is the state of a reservation admitted under fail-open.
type localHold struct {
	done   atomic.Bool
	period int64
}

// Status is a tenant's standing in the current period.
type Status struct {
	// Tenant is the tenant asked about.
	Tenant string
	// Decision is what a request with a zero estimate would get now.
	Decision Decision
	// Spent is the settled spend, Held the sum of live holds, Remaining
	// max(0, Limit-Spent-Held); all in micro-USD.
	Spent, Held, Limit, Remaining int64
	// PeriodStart and PeriodEnd bound the current period (UTC).
	PeriodStart, PeriodEnd time.Time
}
