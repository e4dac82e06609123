package budget

import (
	"context"
	"math"
	"time"
)

// Default settings, applied by New before the options.
const (
	// DefaultDownshiftPercent is the share of the limit from which an
	// admitted request is Downshift.
	DefaultDownshiftPercent = 80
	// DefaultReservationTTL is how long a hold lives when its holder
	// neither settles nor releases it.
	DefaultReservationTTL = 15 * time.Minute
	// DefaultRetention is how long a period's data is kept after the
	// period ends (late settles land there; Status can read it).
	DefaultRetention = time.Hour
	// DefaultTimeout bounds every call to a store that can block.
	DefaultTimeout = 250 * time.Millisecond
	// MaxTenantLen is the longest tenant id accepted, in bytes.
	MaxTenantLen = 256
)

// Clock tells the time. The Enforcer reads it once per call; *clock.Fake
// style test clocks and any wall clock satisfy it.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// LimitFunc returns a tenant's limit in micro-USD for the current period,
// for limits that live elsewhere (a database, a plan). It is called on
// every Reserve and Status for tenants without a WithTenantLimit override,
// under the store timeout; an error follows the failure policy like a store
// error.
type LimitFunc func(ctx context.Context, tenant string) (microUSD int64, err error)

// Option configures an Enforcer. Options are created by the With*
// functions of this package.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	clock        Clock
	period       Period
	defaultLimit limitEntry
	hasDefault   bool
	limits       map[string]limitEntry
	limitFunc    LimitFunc
	downshiftBP  uint64 // basis points of the limit
	ttl          time.Duration
	retention    time.Duration
	timeout      time.Duration
	failOpen     bool
	allowance    int64
	observer     Observer
}

// limitEntry is a configured limit and its downshift level, computed in
// New.
type limitEntry struct {
	limit, downshiftAt int64
}

func defaults() config {
	return config{
		clock:       wallClock{},
		period:      Monthly(),
		downshiftBP: DefaultDownshiftPercent * 100,
		ttl:         DefaultReservationTTL,
		retention:   DefaultRetention,
		timeout:     DefaultTimeout,
	}
}

// WithClock sets the source of time (default: the wall clock). Periods are
// computed from it in UTC.
func WithClock(c Clock) Option {
	return optionFunc(func(cfg *config) error {
		if c == nil {
			return configErr("WithClock(nil)")
		}
		cfg.clock = c
		return nil
	})
}

// WithPeriod sets the budget period (default Monthly()).
func WithPeriod(p Period) Option {
	return optionFunc(func(cfg *config) error {
		if err := p.validate(); err != nil {
			return err
		}
		cfg.period = p
		return nil
	})
}

// WithDefaultLimit sets the limit, in micro-USD per period, of every tenant
// without an override. Either it or WithLimitFunc is required. A limit of 0
// blocks the tenant.
func WithDefaultLimit(microUSD int64) Option {
	return optionFunc(func(cfg *config) error {
		if err := checkAmount("default limit", microUSD); err != nil {
			return configErr("%v", err)
		}
		cfg.defaultLimit, cfg.hasDefault = limitEntry{limit: microUSD}, true
		return nil
	})
}

// WithTenantLimit overrides one tenant's limit in micro-USD per period. It
// takes precedence over WithLimitFunc and WithDefaultLimit. It may be given
// once per tenant.
func WithTenantLimit(tenant string, microUSD int64) Option {
	return optionFunc(func(cfg *config) error {
		if err := checkTenant(tenant); err != nil {
			return configErr("%v", err)
		}
		if err := checkAmount("limit of tenant "+tenant, microUSD); err != nil {
			return configErr("%v", err)
		}
		if cfg.limits == nil {
			cfg.limits = make(map[string]limitEntry)
		}
		if _, dup := cfg.limits[tenant]; dup {
			return configErr("WithTenantLimit(%q) given twice", tenant)
		}
		cfg.limits[tenant] = limitEntry{limit: microUSD}
		return nil
	})
}

// WithLimitFunc looks limits up elsewhere. It takes precedence over
// WithDefaultLimit; WithTenantLimit overrides still win. A negative or too
// large result is reported as ErrInvalidAmount and blocks.
func WithLimitFunc(f LimitFunc) Option {
	return optionFunc(func(cfg *config) error {
		if f == nil {
			return configErr("WithLimitFunc(nil)")
		}
		cfg.limitFunc = f
		return nil
	})
}

// WithDownshiftAt sets the downshift threshold as a percentage of the limit
// (default 80), with at most two decimals. An admitted request whose level
// Spent+Held+Estimate reaches ceil(limit*percent/100) is Downshift. 100
// disables Downshift (every level at or above the limit blocks).
func WithDownshiftAt(percent float64) Option {
	return optionFunc(func(cfg *config) error {
		if math.IsNaN(percent) || math.IsInf(percent, 0) || percent <= 0 || percent > 100 {
			return configErr("WithDownshiftAt(%v): want a percentage in (0, 100]", percent)
		}
		bp := math.Round(percent * 100)
		if math.Abs(bp-percent*100) > 1e-6 {
			return configErr("WithDownshiftAt(%v): at most two decimals", percent)
		}
		cfg.downshiftBP = uint64(bp)
		return nil
	})
}

// WithReservationTTL sets how long a hold lives if its holder never settles
// or releases it (default 15m). Set it above the longest request: a
// request that outlives its hold is still charged when it settles, but
// other requests may have been admitted into the returned room meanwhile.
func WithReservationTTL(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d < time.Millisecond {
			return configErr("WithReservationTTL(%s): want at least 1ms", d)
		}
		cfg.ttl = d
		return nil
	})
}

// WithRetention sets how long a period's data stays in the store after the
// period ends (default 1h); it must be at least twice the reservation TTL
// so that late settles of the period's last reservations still land.
func WithRetention(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return configErr("WithRetention(%s): want a positive duration", d)
		}
		cfg.retention = d
		return nil
	})
}

// WithTimeout bounds every call to a store that can block (default 250ms):
// the call's context has a deadline at most d away (the caller's own, when
// it is sooner). When the caller's context cannot be cancelled
// (context.Background, context.WithoutCancel), calls that start within
// d/16 of each other share one deadline, so a call may be cut up to d/16
// before d; this saves a timer per call. Stores that never block, such as
// Memory, are called without one.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return configErr("WithTimeout(%s): want a positive duration", d)
		}
		cfg.timeout = d
		return nil
	})
}

// WithFailOpen replaces the default fail-closed policy: while the store is
// unavailable this Enforcer admits requests (Decision Allow, Reservation
// Degraded) as long as the estimates it admitted that way in the current
// period, corrected to actual costs when they settle, stay within
// allowanceMicroUSD. Beyond it, it blocks with ErrStoreUnavailable like
// fail-closed. The allowance is per Enforcer (per instance) and per
// period, across all tenants. 0 behaves as fail-closed.
func WithFailOpen(allowanceMicroUSD int64) Option {
	return optionFunc(func(cfg *config) error {
		if err := checkAmount("fail-open allowance", allowanceMicroUSD); err != nil {
			return configErr("%v", err)
		}
		cfg.failOpen, cfg.allowance = true, allowanceMicroUSD
		return nil
	})
}

// WithObserver reports decisions, breaches and store errors to o (default:
// none).
func WithObserver(o Observer) Option {
	return optionFunc(func(cfg *config) error {
		if o == nil {
			return configErr("WithObserver(nil)")
		}
		cfg.observer = o
		return nil
	})
}
