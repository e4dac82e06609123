package fallback

import (
	"errors"
	"strings"

	"github.com/sony/gobreaker/v2"
)

var (
	// ErrUnavailable marks a step's error as "this tool cannot serve now, try
	// the next one". Steps wrap it: fmt.Errorf("search: %w", ErrUnavailable).
	ErrUnavailable = errors.New("fallback: tool unavailable")

	// ErrNoToolAvailable is matched (errors.Is) by the error a chain returns
	// when none of its steps served the call; the error is an
	// *ExhaustedError.
	ErrNoToolAvailable = errors.New("fallback: no tool available")

	// ErrBreakerOpen is matched by a step's error in an *ExhaustedError when
	// the step's circuit breaker rejected the call (open, or half-open with
	// its probes in flight). The gobreaker error (gobreaker.ErrOpenState or
	// gobreaker.ErrTooManyRequests) is matched too.
	ErrBreakerOpen = errors.New("fallback: circuit breaker open")

	// ErrStepTimeout is matched by a step's error when the step's own
	// timeout cut the call. It is also the cause (context.Cause) of the
	// context the step was given.
	ErrStepTimeout = errors.New("fallback: step timed out")

	// ErrAttemptBudgetExhausted is matched by the error of a call that
	// stopped because the request's attempt budget (WithAttemptBudget) was
	// spent. Such an error also matches ErrNoToolAvailable.
	ErrAttemptBudgetExhausted = errors.New("fallback: attempt budget exhausted")
)

// StepError is the error of one step within an *ExhaustedError.
type StepError struct {
	// Step is the step's name.
	Step string
	// Reason says why the step did not serve.
	Reason Reason
	// Err is the step's error.
	Err error
}

// Error returns "<step>: <err>".
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// ExhaustedError is returned when no step of a chain served the call: every
// step fell through, or the attempt budget ran out. It matches
// ErrNoToolAvailable and, through Unwrap, every step's error.
type ExhaustedError struct {
	// Chain is the chain's name.
	Chain string
	// Steps holds one *StepError per step the call reached, in order.
	Steps []*StepError
}

// Error lists every step's error.
func (e *ExhaustedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrNoToolAvailable.Error())
	b.WriteString(" in chain ")
	b.WriteString(e.Chain)
	for i, s := range e.Steps {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(s.Error())
	}
	return b.String()
}

// Is reports whether target is ErrNoToolAvailable.
func (e *ExhaustedError) Is(target error) bool { return target == ErrNoToolAvailable }

// Unwrap returns the steps' errors, so errors.Is and errors.As look into
// each of them.
func (e *ExhaustedError) Unwrap() []error {
	errs := make([]error, len(e.Steps))
	for i, s := range e.Steps {
		errs[i] = s
	}
	return errs
}

// rejectedError is the error recorded for a step whose breaker rejected the
// call: it matches ErrBreakerOpen and the gobreaker error.
type rejectedError struct{ cause error }

func (e *rejectedError) Error() string        { return ErrBreakerOpen.Error() + ": " + e.cause.Error() }
func (e *rejectedError) Is(target error) bool { return target == ErrBreakerOpen }
func (e *rejectedError) Unwrap() error        { return e.cause }

// The two rejections, made once: they are never modified.
var (
	rejectedOpen    error = &rejectedError{cause: gobreaker.ErrOpenState}
	rejectedTooMany error = &rejectedError{cause: gobreaker.ErrTooManyRequests}
)

func rejection(err error) error {
	if errors.Is(err, gobreaker.ErrTooManyRequests) {
		return rejectedTooMany
	}
	return rejectedOpen
}

// timeoutError is the error recorded for a step cut by its own timeout: it
// matches ErrStepTimeout and keeps the step's own error, if it returned one.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string {
	if e.err == nil {
		return ErrStepTimeout.Error()
	}
	return ErrStepTimeout.Error() + ": " + e.err.Error()
}
func (e *timeoutError) Is(target error) bool { return target == ErrStepTimeout }
func (e *timeoutError) Unwrap() error        { return e.err }

// canceledError joins the caller's context error to a step's error that does
// not already match it.
type canceledError struct{ ctxErr, err error }

func (e *canceledError) Error() string   { return e.ctxErr.Error() + ": " + e.err.Error() }
func (e *canceledError) Unwrap() []error { return []error{e.ctxErr, e.err} }

// unavailabler is implemented by errors that can say they mean "tool
// unavailable", such as chaos faults.
type unavailabler interface{ Unavailable() bool }

// fallsThrough reports whether err (returned by a step, with the caller's
// context still live) moves the call on to the next step: ErrUnavailable,
// ErrNoToolAvailable (a nested chain), a breaker rejection, an error whose
// Unavailable method reports true, or one the classifier accepts.
func fallsThrough(err error, classify func(error) bool) bool {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNoToolAvailable) ||
		errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) ||
		markedUnavailable(err) {
		return true
	}
	return classify != nil && classify(err)
}

// markedUnavailable walks err's tree looking for an Unavailable method that
// reports true, without reflection.
func markedUnavailable(err error) bool {
	for err != nil {
		if u, ok := err.(unavailabler); ok && u.Unavailable() {
			return true
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if markedUnavailable(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
