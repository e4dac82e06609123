package fallback

import (
	"context"
	"strconv"
)

// Status is the outcome of one step within one call of a chain, as reported
// to an Observer. It is the status attribute of the agent.tool.success metric.
type Status int

// Statuses. The zero Status is not valid.
const (
	// StatusSuccess: the step returned a value and served the call.
	StatusSuccess Status = iota + 1
	// StatusFallback: the step did not serve the call and the call moved on
	// to a later step (unavailable, timed out, or its breaker rejected it).
	StatusFallback
	// StatusFailure: the step did not serve the call and the call ended
	// here without a value (an error that does not fall through, the
	// caller's cancellation, an exhausted attempt budget, or the last step
	// of the request failed).
	StatusFailure
)

// String returns "success", "fallback" or "failure".
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusFallback:
		return "fallback"
	case StatusFailure:
		return "failure"
	default:
		return "Status(" + strconv.Itoa(int(s)) + ")"
	}
}

// Reason says why a step ended the way it did.
type Reason int

// Reasons. The zero Reason is not valid.
const (
	// ReasonServed: the step returned a value.
	ReasonServed Reason = iota + 1
	// ReasonUnavailable: the step returned an error that falls through
	// (ErrUnavailable, an error whose Unavailable method reports true, an
	// error accepted by the chain's classifier, or a nested chain with no
	// tool available).
	ReasonUnavailable
	// ReasonBreakerOpen: the step's breaker rejected the call (open, or
	// half-open with its probes in flight); the step was not called.
	ReasonBreakerOpen
	// ReasonTimeout: the step's own timeout cut the call.
	ReasonTimeout
	// ReasonError: the step returned an error that does not fall through.
	ReasonError
	// ReasonCanceled: the caller's context was done.
	ReasonCanceled
	// ReasonBudget: the request's attempt budget was spent; the step was
	// not called.
	ReasonBudget
)

// String returns the reason in snake_case, e.g. "breaker_open".
func (r Reason) String() string {
	switch r {
	case ReasonServed:
		return "served"
	case ReasonUnavailable:
		return "unavailable"
	case ReasonBreakerOpen:
		return "breaker_open"
	case ReasonTimeout:
		return "timeout"
	case ReasonError:
		return "error"
	case ReasonCanceled:
		return "canceled"
	case ReasonBudget:
		return "budget_exhausted"
	default:
		return "Reason(" + strconv.Itoa(int(r)) + ")"
	}
}

// State is the state of a step's circuit breaker.
type State int

// Breaker states. The zero State is not valid.
const (
	// StateClosed: calls go through; failures are counted.
	StateClosed State = iota + 1
	// StateHalfOpen: a limited number of probe calls go through.
	StateHalfOpen
	// StateOpen: calls are rejected without calling the step.
	StateOpen
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	default:
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
}

// ToolEvent is the outcome of one step within one call of a chain.
type ToolEvent struct {
	// Chain is the name of the chain the step belongs to.
	Chain string
	// Tool is the step's name.
	Tool string
	// Index is the step's position in its chain, from 0.
	Index int
	// Status is success, fallback or failure.
	Status Status
	// Reason says why.
	Reason Reason
	// Err is the step's error; nil when Status is StatusSuccess.
	Err error
}

// BreakerEvent is a transition of a step's circuit breaker.
type BreakerEvent struct {
	// Chain is the name of the chain the step belongs to.
	Chain string
	// Tool is the step's name.
	Tool string
	// From and To are the states before and after the transition.
	From, To State
}

// StepState is a step's breaker state at the time it was read, as returned by
// Chain.States.
type StepState struct {
	// Tool is the step's name.
	Tool string
	// State is the breaker's state.
	State State
}

// Observer receives what a chain does. Implementations must be safe for
// concurrent use by multiple goroutines and should return quickly: ToolOutcome
// runs on the caller's goroutine, inside Do.
//
// An Observer may call back into the chain (for example Chain.States):
// breaker transitions are delivered outside the breaker's lock.
type Observer interface {
	// ToolOutcome is called once for every step a call reaches, in order,
	// with the caller's context (so an adapter can read the tenant from it).
	// Steps that are nested chains report nothing themselves; the steps of
	// the nested chain report instead.
	ToolOutcome(ctx context.Context, ev ToolEvent)
	// BreakerChange is called once for every breaker transition, in the
	// order the transitions of one breaker happened.
	BreakerChange(ev BreakerEvent)
}

// ObserverFuncs adapts a pair of functions to Observer; a nil field ignores
// its events.
type ObserverFuncs struct {
	// OnToolOutcome handles ToolOutcome.
	OnToolOutcome func(ctx context.Context, ev ToolEvent)
	// OnBreakerChange handles BreakerChange.
	OnBreakerChange func(ev BreakerEvent)
}

var _ Observer = ObserverFuncs{}

// ToolOutcome calls f.OnToolOutcome when it is set.
func (f ObserverFuncs) ToolOutcome(ctx context.Context, ev ToolEvent) {
	if f.OnToolOutcome != nil {
		f.OnToolOutcome(ctx, ev)
	}
}

// BreakerChange calls f.OnBreakerChange when it is set.
func (f ObserverFuncs) BreakerChange(ev BreakerEvent) {
	if f.OnBreakerChange != nil {
		f.OnBreakerChange(ev)
	}
}
