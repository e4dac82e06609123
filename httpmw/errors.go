package httpmw

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrTaskCapExceeded is matched by a *CapError: the task used up one of
	// its per-task limits and the Transport refused another model call.
	ErrTaskCapExceeded = errors.New("httpmw: task cap exceeded")
	// ErrTenantMissing is returned by the header resolver when the header is
	// absent or empty.
	ErrTenantMissing = errors.New("httpmw: tenant missing")
	// ErrTenantInvalid is returned by the header resolver when the header
	// value is too long or has a byte outside the allowed charset.
	ErrTenantInvalid = errors.New("httpmw: tenant invalid")
	// ErrRequestTooLarge is returned by the Transport when a chat completion
	// request body is larger than it is willing to read (64 MiB).
	ErrRequestTooLarge = errors.New("httpmw: request body too large")
	// ErrNoTask is returned by AddUsage when the context carries no task.
	ErrNoTask = errors.New("httpmw: no task in context")
)

// CapKind names one of the per-task limits.
type CapKind uint8

// The per-task limits.
const (
	CapCalls  CapKind = iota + 1 // model calls
	CapTokens                    // input plus output tokens
	CapCost                      // cost in micro-USD
)

// String returns "calls", "tokens" or "cost".
func (k CapKind) String() string {
	switch k {
	case CapCalls:
		return "calls"
	case CapTokens:
		return "tokens"
	case CapCost:
		return "cost"
	}
	return fmt.Sprintf("CapKind(%d)", uint8(k))
}

// CapError is returned by the Transport, in place of a model call, once a
// task has reached one of its limits. It matches ErrTaskCapExceeded. An
// agent loop turns it into a graceful answer instead of calling again.
type CapError struct {
	Kind CapKind // which limit was reached
	Max  int64   // the limit
	Used int64   // what the task had used when the call was refused
}

// Error describes the limit reached.
func (e *CapError) Error() string {
	return fmt.Sprintf("httpmw: task cap exceeded: %s used %d of %d", e.Kind, e.Used, e.Max)
}

// Is reports whether target is ErrTaskCapExceeded.
func (e *CapError) Is(target error) bool { return target == ErrTaskCapExceeded }
