package repair

import (
	"context"
	"strconv"
	"time"
)

// Kind says how an attempt tried to repair arguments.
type Kind int

// Attempt kinds.
const (
	// KindLocal: CleanArgs, no model call.
	KindLocal Kind = iota + 1
	// KindModel: the Repairer (usually a model call).
	KindModel
)

// String returns "local" or "model".
func (k Kind) String() string {
	switch k {
	case KindLocal:
		return "local"
	case KindModel:
		return "model"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is the result of one attempt.
type Outcome int

// Attempt outcomes.
const (
	// OutcomeRepaired: the new arguments are valid (and, in Do, the tool
	// did not reject them as repairable).
	OutcomeRepaired Outcome = iota + 1
	// OutcomeInvalid: the new arguments are still invalid, or the tool
	// rejected them with a repairable error.
	OutcomeInvalid
	// OutcomeError: the Repairer failed (model error, context done).
	OutcomeError
)

// String returns "repaired", "invalid" or "error".
func (o Outcome) String() string {
	switch o {
	case OutcomeRepaired:
		return "repaired"
	case OutcomeInvalid:
		return "invalid"
	case OutcomeError:
		return "error"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Usage is the token usage of one model call.
type Usage struct {
	// InputTokens is the total input, cached tokens included.
	InputTokens int64
	// CachedInputTokens is the cached subset of InputTokens, if known.
	CachedInputTokens int64
	OutputTokens      int64
}

// ModelCallEvent reports one Repairer call that reached a model, whether
// it succeeded or not, so its tokens can be charged.
type ModelCallEvent struct {
	Tool    string
	Attempt int
	// Model is the model that answered, as reported by the Model ("" if
	// unknown).
	Model    string
	Usage    Usage
	Duration time.Duration
	// Err is the Repairer's error, nil on success. A successful call whose
	// output is still invalid has Err nil.
	Err error
}

// AttemptEvent reports one repair attempt; it maps to the
// agent.repair.retry counter.
type AttemptEvent struct {
	Tool string
	// Attempt is 0 for the local fix, 1..MaxAttempts for model attempts.
	Attempt int
	Kind    Kind
	Outcome Outcome
}

// Observer receives what the loop did. Calls are synchronous, from the
// goroutine running Do, with Do's context (which carries whatever the
// caller needs to attribute the cost, such as the tenant). Implementations
// must be safe for concurrent use when the Loop is shared.
type Observer interface {
	// ModelCall is called after every Repairer call that used a model,
	// including failed ones.
	ModelCall(ctx context.Context, e ModelCallEvent)
	// Attempt is called once per attempt when its outcome is known.
	Attempt(ctx context.Context, e AttemptEvent)
}

// ObserverFuncs adapts functions to Observer; nil fields are skipped.
type ObserverFuncs struct {
	OnModelCall func(ctx context.Context, e ModelCallEvent)
	OnAttempt   func(ctx context.Context, e AttemptEvent)
}

// ModelCall calls OnModelCall if set.
func (o ObserverFuncs) ModelCall(ctx context.Context, e ModelCallEvent) {
	if o.OnModelCall != nil {
		o.OnModelCall(ctx, e)
	}
}

// Attempt calls OnAttempt if set.
func (o ObserverFuncs) Attempt(ctx context.Context, e AttemptEvent) {
	if o.OnAttempt != nil {
		o.OnAttempt(ctx, e)
	}
}

var _ Observer = ObserverFuncs{}

type nopObserver struct{}

func (nopObserver) ModelCall(context.Context, ModelCallEvent) {}
func (nopObserver) Attempt(context.Context, AttemptEvent)     {}
