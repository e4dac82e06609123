package chaos

import (
	"errors"
	"strconv"
	"time"
)

var (
	// ErrThrottled is matched by every *ThrottleError.
	ErrThrottled = errors.New("chaos: throttled")
	// ErrOutage is matched by every *OutageError.
	ErrOutage = errors.New("chaos: outage")
	// ErrInvalidFault is matched by every error about a fault specification
	// that cannot be accepted (unknown mode or target, probability outside
	// [0,1], TTL out of range, ...).
	ErrInvalidFault = errors.New("chaos: invalid fault")
	// ErrTooManyFaults is returned when setting a fault would exceed
	// MaxFaults active faults.
	ErrTooManyFaults = errors.New("chaos: too many active faults")
)

// ThrottleError is the error an injected throttle returns. Values returned
// by Inject are shared between calls and must not be modified.
type ThrottleError struct {
	// Target is the fault's target in wire form, e.g. "tool:web_search".
	Target string
	// RetryAfter is how long the caller is told to wait.
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottleError) Error() string {
	return "chaos: throttled at " + e.Target + " (retry after " + e.RetryAfter.String() + ")"
}

// Is reports whether target is ErrThrottled.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// Unavailable reports true: the dependency is to be treated as unavailable,
// so a fallback chain moves on to its next step.
func (e *ThrottleError) Unavailable() bool { return true }

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds (at least
// 1), as the Retry-After header wants it.
func (e *ThrottleError) RetryAfterSeconds() string {
	s := int64((e.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// OutageError is the error an injected outage returns. Values returned by
// Inject are shared between calls and must not be modified.
type OutageError struct {
	// Target is the fault's target in wire form, e.g. "model".
	Target string
}

// Error implements error.
func (e *OutageError) Error() string { return "chaos: outage at " + e.Target }

// Is reports whether target is ErrOutage.
func (e *OutageError) Is(target error) bool { return target == ErrOutage }

// Unavailable reports true: the dependency is to be treated as unavailable,
// so a fallback chain moves on to its next step.
func (e *OutageError) Unavailable() bool { return true }
