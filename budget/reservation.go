package budget

import (
	"context"
	"time"
)

// Reservation is the answer to Enforcer.Reserve: the decision, the
// tenant's figures, and the handle to settle or release the hold. It is a
// small value; copies share the same hold, and Settle and Release are
// idempotent across copies (the store remembers the reservation id).
type Reservation struct {
	// Decision is Allow, Downshift or Block.
	Decision Decision
	// Tenant is the tenant the reservation was made for.
	Tenant string
	// ID identifies the hold in the store.
	ID uint64
	// Estimate is the amount reserved, in micro-USD.
	Estimate int64
	// Spent is the tenant's settled spend in the period, in micro-USD.
	Spent int64
	// Held is the sum of the tenant's live holds, including this one if
	// admitted.
	Held int64
	// Limit is the tenant's limit for the period.
	Limit int64
	// Remaining is max(0, Limit-Spent-Held).
	Remaining int64
	// PeriodStart and PeriodEnd bound the period (UTC); a blocked tenant
	// can retry at PeriodEnd.
	PeriodStart, PeriodEnd time.Time
	// Degraded is set when the request was admitted under the fail-open
	// policy while the store was unavailable.
	Degraded bool

	e     *Enforcer
	local *localHold
	at    time.Time // when it was reserved
}

// RetryAfter returns the time left until the period ends (0 if it has
// ended), for a Retry-After header.
func (r Reservation) RetryAfter() time.Duration {
	if r.e == nil {
		return 0
	}
	if d := r.PeriodEnd.Sub(r.e.cfg.clock.Now()); d > 0 {
		return d
	}
	return 0
}

// Model returns the model to use for the reservation's decision.
func (r Reservation) Model(m Models) string { return m.For(r.Decision) }

// Settle records the request's actual cost in micro-USD (rounded up) and
// returns the hold. An actual above the estimate is recorded in full.
// Settling again, or after Release, does nothing; settling after the hold
// expired still records the cost. On a blocked reservation it does
// nothing. An error matches ErrInvalidAmount or ErrStoreUnavailable; a
// failed Settle may be retried.
//
// Settle is bounded by the Enforcer's timeout. Pass a context that
// outlives the request (context.WithoutCancel) if the client may hang up.
func (r Reservation) Settle(ctx context.Context, actualMicroUSD int64) error {
	if r.e == nil || !r.Decision.Admitted() {
		return nil
	}
	if err := checkAmount("actual", actualMicroUSD); err != nil {
		return err
	}
	e := r.e
	args := e.settleArgs(r, actualMicroUSD)
	if r.local != nil {
		if !r.local.done.CompareAndSwap(false, true) {
			return nil
		}
		e.open.adjust(r.local.period, actualMicroUSD-r.Estimate)
		args.Force = true
	}
	ctx, cancel := e.storeContext(ctx)
	defer cancel()
	if _, err := e.store.Settle(ctx, args); err != nil {
		return e.wrapUnavailable("settle", r.Tenant, err)
	}
	return nil
}

// Release returns the hold without recording spend (the request did not
// run or cost nothing). Releasing again, or after Settle, does nothing.
func (r Reservation) Release(ctx context.Context) error {
	if r.e == nil || !r.Decision.Admitted() {
		return nil
	}
	e := r.e
	if r.local != nil {
		if r.local.done.CompareAndSwap(false, true) {
			e.open.adjust(r.local.period, -r.Estimate)
		}
		return nil
	}
	ctx, cancel := e.storeContext(ctx)
	defer cancel()
	if _, err := e.store.Release(ctx, e.settleArgs(r, 0)); err != nil {
		return e.wrapUnavailable("release", r.Tenant, err)
	}
	return nil
}

// Models names the model to use for each decision.
type Models struct {
	// Primary is used on Allow.
	Primary string
	// Downshift is used on Downshift; when empty, Primary is used.
	Downshift string
}

// For returns the model for d: Primary on Allow, Downshift (or Primary if
// unset) on Downshift, "" on Block or an invalid decision.
func (m Models) For(d Decision) string {
	switch d {
	case Allow:
		return m.Primary
	case Downshift:
		if m.Downshift != "" {
			return m.Downshift
		}
		return m.Primary
	}
	return ""
}
