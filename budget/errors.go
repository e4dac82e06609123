package budget

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrBlocked is matched by *BlockedError, returned by Enforcer.Run when
	// the reservation was refused. Reserve itself reports a block as a
	// Decision, not as an error.
	ErrBlocked = errors.New("budget: blocked")
	// ErrStoreUnavailable is matched by every error caused by a failing or
	// slow store (or LimitFunc). Under the default fail-closed policy
	// Reserve returns it together with Decision Block.
	ErrStoreUnavailable = errors.New("budget: store unavailable")
	// ErrInvalidAmount is returned for a negative amount, one above
	// MaxAmount, or a NaN or infinite dollar amount.
	ErrInvalidAmount = errors.New("budget: invalid amount")
	// ErrInvalidTenant is returned for an empty tenant id or one longer
	// than MaxTenantLen bytes.
	ErrInvalidTenant = errors.New("budget: invalid tenant")
	// ErrInvalidConfig is matched by every configuration error from New.
	ErrInvalidConfig = errors.New("budget: invalid configuration")
	// ErrPeriodEvicted is returned by a store asked to reserve in a period
	// older than the ones it still keeps (a clock that went backwards by
	// more than a period).
	ErrPeriodEvicted = errors.New("budget: period evicted")
)

// BlockedError is returned by Enforcer.Run when the tenant is blocked.
// It matches ErrBlocked.
type BlockedError struct {
	// Tenant is the blocked tenant.
	Tenant string
	// Spent, Held and Limit are the tenant's figures in micro-USD when
	// the request was refused.
	Spent, Held, Limit int64
	// RetryAfter is the time left until the period ends (the earliest a
	// retry can succeed without a raised limit).
	RetryAfter time.Duration
}

// Error implements error.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("budget: blocked: tenant %q spent %d + held %d of %d micro-USD; retry after %s",
		e.Tenant, e.Spent, e.Held, e.Limit, e.RetryAfter)
}

// Is reports whether target is ErrBlocked.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
