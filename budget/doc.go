// Package budget enforces per-tenant spend for LLM agent services: before
// a request runs it reserves the request's estimated cost and answers
// Allow, Downshift (use the cheaper model) or Block; afterwards it settles
// the actual cost.
//
// # Model
//
// Money is int64 micro-USD (1 USD = 1,000,000) everywhere; FromUSD converts
// configuration in dollars, rounding up. Each tenant has a limit per
// period (WithDefaultLimit, WithTenantLimit, WithLimitFunc). Within a
// period the store keeps the tenant's settled spend and its live holds.
//
// Reserve(ctx, tenant, estimate) computes the level
//
//	L = spent + held + estimate
//
// and decides, with both bounds inclusive:
//
//	L >= limit                       Block      (nothing is held)
//	L >= ceil(limit * 80 / 100)      Downshift  (the estimate is held)
//	otherwise                        Allow      (the estimate is held)
//
// So a limit of 0 always blocks, a tenant whose spend has reached its
// limit is blocked even for a zero estimate, and an admitted request never
// takes spent+held past the limit: concurrent requests, on one instance or
// many sharing a Redis, cannot overspend beyond their own estimate errors
// (an actual cost above the estimate is recorded in full). The check and
// the hold are one atomic store operation.
//
// The holder then calls Settle(ctx, actual) or Release(ctx). Both are
// idempotent: the store remembers the reservation id, so a second call, a
// retried call or a call on a copy of the Reservation changes nothing. A
// hold whose holder died expires after the reservation TTL and its amount
// is returned; a Settle that arrives after expiry still records the cost
// (up to one more TTL later). Run wraps reserve, model choice, the agent's
// work and settle in one call.
//
// # Periods
//
// Periods are computed from the Enforcer's clock in UTC, whatever the
// clock's or the host's time zone: the calendar month (default), the
// calendar day, the ISO week (Monday 00:00 UTC) or a fixed duration
// aligned to the Unix epoch (Every). A request belongs to the period in
// which it was reserved, and its settlement is counted there even if it
// arrives after the rollover. A new period starts from zero with no manual
// reset; old periods are dropped from the store once the retention after
// their end has passed. The Enforcer's clock, not the store's, defines the
// period: instances should run NTP; a skew of s seconds only moves which
// period a request within s of a boundary counts in, never the atomicity
// of the limit inside a period.
//
// # Failure policy
//
// Every call to a store that can block is bounded by WithTimeout (default
// 250ms). When the store fails or times out, Reserve follows the policy:
//
//   - fail-closed (default): Decision Block and an error matching
//     ErrStoreUnavailable (HTTP middleware maps it to 503; a plain Block
//     without error is a 429).
//   - WithFailOpen(allowance): Decision Allow with Reservation.Degraded set
//     and a nil error, as long as the estimates this Enforcer admitted that
//     way in the current period (corrected to actual costs when they
//     settle) stay below allowance micro-USD; then as fail-closed. The
//     bound is per instance and per period, across tenants. A degraded
//     reservation settled after the store is back is charged to it once.
//
// Status and Settle return store errors as errors whatever the policy; a
// failed Settle can be retried.
//
// # Defaults
//
//	Period             Monthly()
//	Downshift at       80 % of the limit (WithDownshiftAt)
//	Reservation TTL    15m (WithReservationTTL)
//	Retention          1h after the period's end (WithRetention, >= 2 x TTL)
//	Store timeout      250ms (WithTimeout)
//	Failure policy     fail-closed
//	Clock              the wall clock (WithClock)
//	Limits             required: WithDefaultLimit or WithLimitFunc
//
// Tenant ids are at most MaxTenantLen (256) bytes and not empty; any
// bytes are allowed (stores encode them). Amounts are in [0, MaxAmount].
//
// # Stores
//
// Store is the small interface the Enforcer uses. NewMemory is the
// in-process store (sharded, evicts old periods); package
// budget/redisstore is the same Store on Redis for many instances; package
// budget/storetest is the conformance suite every Store must pass.
//
// # Observability
//
// WithObserver receives every decision, every breach (a Downshift or Block
// decision) and every store error, with plain types, so a metrics recorder
// can implement it without this package depending on it.
//
// # Concurrency
//
// An Enforcer and the stores of this package are safe for concurrent use
// by multiple goroutines. They start no goroutines and need no Close. A
// Reservation is a value that may be copied and used from any goroutine.
package budget
