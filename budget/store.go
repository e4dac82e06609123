package budget

import (
	"context"
	"time"
)

// Store keeps each tenant's spend and live holds per period and makes the
// check-and-hold of a reservation atomic. The Enforcer computes everything
// that is policy (the period window, the limit, the thresholds, the hold
// expiry, how long data is kept) and passes it in, so a store only does
// arithmetic; every implementation must give the same answers, which the
// conformance suite in package budget/storetest checks.
//
// Implementations must be safe for concurrent use by multiple goroutines
// and, where several processes share one store, atomic across them.
type Store interface {
	// Reserve admits the request if Spent+Held+Estimate < Limit, holding
	// Estimate under Hold.ID until Expires. It answers Block without
	// holding anything otherwise (and always when Limit is 0). An admitted
	// request is Downshift when Spent+Held+Estimate >= DownshiftAt, else
	// Allow. Holds that expired at or before Now are returned first; a
	// store may return them lazily as long as it never answers Downshift
	// or Block while still counting one (counting one can only raise the
	// level, so an Allow taken that way is right). Calling Reserve again
	// with an ID that already holds returns the current figures without
	// holding twice (a retried call is safe).
	Reserve(ctx context.Context, a ReserveArgs) (ReserveResult, error)
	// Settle removes the hold and adds Actual to the period's spend
	// (Applied); if the hold had expired it still adds Actual (Late); if
	// the reservation was already settled or released it does nothing
	// (Duplicate). With Force, a reservation that never held (admitted
	// while the store was unavailable) is charged once.
	Settle(ctx context.Context, a SettleArgs) (Outcome, error)
	// Release removes the hold without adding spend. Releasing twice, or
	// after Settle, does nothing (Duplicate).
	Release(ctx context.Context, a SettleArgs) (Outcome, error)
	// Usage returns the period's spend and the sum of its unexpired holds,
	// without changing anything.
	Usage(ctx context.Context, a UsageArgs) (Usage, error)
}

// Hold names one reservation in a store.
type Hold struct {
	// Tenant is the tenant id as given to the Enforcer (any bytes, at
	// most MaxTenantLen of them); stores must encode it safely.
	Tenant string
	// ID is unique per reservation.
	ID uint64
	// Period is the window the reservation was made in; its settlement
	// is counted there too.
	Period Window
	// Estimate is the amount held (for Settle and Release: the amount the
	// reservation held, which stores may use to find the hold).
	Estimate int64
}

// ReserveArgs are the inputs of Store.Reserve; Hold.Estimate is the
// amount to hold. Amounts are micro-USD in [0, MaxAmount].
type ReserveArgs struct {
	Hold
	// Limit is the tenant's limit for the period.
	Limit int64
	// DownshiftAt is the level (Spent+Held+Estimate) from which an
	// admitted request is Downshift.
	DownshiftAt int64
	// Now is the current time; holds with an expiry at or before Now are
	// expired.
	Now time.Time
	// Expires is when this hold expires if it is neither settled nor
	// released.
	Expires time.Time
	// KeepUntil is when the period's data may be dropped from the store
	// (the period's end plus the retention).
	KeepUntil time.Time
	// ForgetBefore: records of expired holds that expired before it may
	// be forgotten; a settle arriving later is then a Duplicate.
	ForgetBefore time.Time
}

// ReserveResult is what Store.Reserve answers.
type ReserveResult struct {
	// Decision is Allow, Downshift or Block.
	Decision Decision
	// Spent is the period's settled spend.
	Spent int64
	// Held is the sum of live holds, including this one if admitted. On
	// an Allow it may still include holds expired since the store last
	// swept them.
	Held int64
}

// SettleArgs are the inputs of Store.Settle and Store.Release.
type SettleArgs struct {
	Hold
	// Actual is the cost to record (Settle only).
	Actual int64
	// Force charges Actual even when the store never saw the
	// reservation, once per ID (Settle only).
	Force bool
	// Now, KeepUntil and ForgetBefore are as in ReserveArgs.
	Now, KeepUntil, ForgetBefore time.Time
}

// UsageArgs are the inputs of Store.Usage.
type UsageArgs struct {
	// Tenant and Period name the figures to read.
	Tenant string
	Period Window
	// Now decides which holds have expired (they are not counted).
	Now time.Time
}

// Usage is a tenant's spend and live holds in one period, in micro-USD.
type Usage struct {
	// Spent is the settled spend, Held the sum of unexpired holds.
	Spent, Held int64
}

// local is implemented by stores whose calls never block (Memory); the
// Enforcer does not arm a timeout for them, which keeps the hot path free
// of allocations.
type local interface{ neverBlocks() }
