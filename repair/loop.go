package repair

import (
	"context"
	"errors"
	"fmt"

	"github.com/llmops-go/llmops/clock"
)

// Loop defaults and bounds.
const (
	DefaultMaxAttempts = 2
	MaxAttemptsLimit   = 10
)

// Guard is asked before every model attempt; a non-nil error stops the
// loop with StopGuard and is kept as the NotRepairedError's Cause. Use it
// to stop repairing when the tenant's budget has gone to Block (read the
// tenant from ctx).
type Guard func(ctx context.Context, tool string, attempt int) error

type config struct {
	repairer    Repairer
	maxAttempts int
	observer    Observer
	guard       Guard
	clock       clock.Clock
}

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRepairer sets the Repairer used after local fixes (default none:
// only local fixes are tried).
func WithRepairer(r Repairer) Option { return optionFunc(func(c *config) { c.repairer = r }) }

// WithMaxAttempts bounds the model attempts per call (default 2, range
// 0..10). Local fixes do not count.
func WithMaxAttempts(n int) Option { return optionFunc(func(c *config) { c.maxAttempts = n }) }

// WithObserver sets the Observer (default: none).
func WithObserver(o Observer) Option { return optionFunc(func(c *config) { c.observer = o }) }

// WithGuard sets the Guard (default: none, always proceed).
func WithGuard(g Guard) Option { return optionFunc(func(c *config) { c.guard = g }) }

// WithClock sets the clock used to time model calls (default clock.Real).
func WithClock(c clock.Clock) Option { return optionFunc(func(cf *config) { cf.clock = c }) }

// Loop validates tool arguments and repairs them within bounds. It is safe
// for concurrent use by multiple goroutines if its Repairer, Observer and
// Guard are.
type Loop struct {
	reg *Registry
	cfg config
}

// New returns a Loop validating against reg.
func New(reg *Registry, opts ...Option) (*Loop, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil Registry", ErrInvalidConfig)
	}
	cfg := config{maxAttempts: DefaultMaxAttempts}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.maxAttempts < 0 || cfg.maxAttempts > MaxAttemptsLimit {
		return nil, fmt.Errorf("%w: max attempts %d not in 0..%d", ErrInvalidConfig, cfg.maxAttempts, MaxAttemptsLimit)
	}
	if cfg.observer == nil {
		cfg.observer = nopObserver{}
	}
	cfg.clock = clock.Or(cfg.clock)
	return &Loop{reg: reg, cfg: cfg}, nil
}

// Registry returns the registry the Loop validates against.
func (l *Loop) Registry() *Registry { return l.reg }

// Do validates args for tool and, when they are valid, calls run with them
// and returns its result. When they are invalid it applies CleanArgs (kind
// local, attempt 0), then asks the Repairer up to MaxAttempts times (kind
// model), validating each answer; run is called with the first valid
// arguments. If run returns an error matching ErrRepairable, the error is
// fed back to the Repairer like a validation error; any other error from
// run is returned as is.
//
// The loop stops early when an attempt yields the same violations (or the
// same tool error) as the one before it, when ctx is done, when the Guard
// refuses, when the Repairer fails, or when arguments exceed the size
// limit. It then returns a *NotRepairedError (ErrNotRepaired). An unknown
// tool returns an error matching ErrUnknownTool.
//
// When args are valid the first time, Do adds nothing to the cost of
// validation: no allocation, no observer call.
func Do[R any](ctx context.Context, l *Loop, tool string, args []byte, run func(ctx context.Context, args []byte) (R, error)) (R, error) {
	s, ok := l.reg.Lookup(tool)
	if !ok {
		var zero R
		return zero, fmt.Errorf("%w: %q", ErrUnknownTool, tool)
	}
	verr := s.validate(args)
	if verr == nil {
		r, err := run(ctx, args)
		if err == nil || !errors.Is(err, ErrRepairable) {
			return r, err
		}
		return repairLoop(ctx, l, s, args, nil, err, run)
	}
	return repairLoop(ctx, l, s, args, verr, nil, run)
}

// Args validates and repairs args for tool and returns valid arguments, for
// callers that run the tool themselves.
func (l *Loop) Args(ctx context.Context, tool string, args []byte) ([]byte, error) {
	return Do(ctx, l, tool, args, identity)
}

func identity(_ context.Context, args []byte) ([]byte, error) { return args, nil }

// loopState is the slow path's bookkeeping.
type loopState struct {
	l        *Loop
	s        *Schema
	attempts []AttemptRecord
	models   int
}

func (st *loopState) record(ctx context.Context, attempt int, k Kind, o Outcome) {
	st.attempts = append(st.attempts, AttemptRecord{Attempt: attempt, Kind: k, Outcome: o})
	st.l.cfg.observer.Attempt(ctx, AttemptEvent{Tool: st.s.tool, Attempt: attempt, Kind: k, Outcome: o})
}

func (st *loopState) fail(reason StopReason, args []byte, last *ValidationError, toolErr, cause error) error {
	return &NotRepairedError{
		Tool:          st.s.tool,
		Attempts:      st.attempts,
		ModelAttempts: st.models,
		Reason:        reason,
		Last:          last,
		LastToolErr:   toolErr,
		Cause:         cause,
		Excerpt:       excerpt(string(args), ExcerptBytes),
	}
}

func isTooLarge(v *ValidationError) bool {
	return v != nil && len(v.Violations) == 1 && v.Violations[0].Keyword == "size" && v.Violations[0].Path == ""
}

func repairLoop[R any](ctx context.Context, l *Loop, s *Schema, args []byte, verr *ValidationError, toolErr error,
	run func(ctx context.Context, args []byte) (R, error)) (R, error) {
	var zero R
	st := &loopState{l: l, s: s}
	cur, curErr, curToolErr := args, verr, toolErr

	// Attempt 0: local, deterministic fixes.
	if curErr != nil && !isTooLarge(curErr) {
		if fixed, fix, ok := CleanArgs(cur); ok && fix != FixNone {
			ferr := s.validate(fixed)
			if ferr == nil {
				r, err := run(ctx, fixed)
				if err == nil || !errors.Is(err, ErrRepairable) {
					st.record(ctx, 0, KindLocal, OutcomeRepaired)
					return r, err
				}
				st.record(ctx, 0, KindLocal, OutcomeInvalid)
				cur, curErr, curToolErr = fixed, nil, err
			} else {
				st.record(ctx, 0, KindLocal, OutcomeInvalid)
				cur, curErr = fixed, ferr
			}
		}
	}

	for attempt := 1; ; attempt++ {
		if isTooLarge(curErr) {
			return zero, st.fail(StopTooLarge, cur, curErr, nil, nil)
		}
		if l.cfg.repairer == nil || l.cfg.maxAttempts == 0 {
			return zero, st.fail(StopNoRepairer, cur, curErr, curToolErr, nil)
		}
		if attempt > l.cfg.maxAttempts {
			return zero, st.fail(StopExhausted, cur, curErr, curToolErr, nil)
		}
		if err := ctx.Err(); err != nil {
			return zero, st.fail(StopCanceled, cur, curErr, curToolErr, context.Cause(ctx))
		}
		if g := l.cfg.guard; g != nil {
			if err := g(ctx, s.tool, attempt); err != nil {
				return zero, st.fail(StopGuard, cur, curErr, curToolErr, err)
			}
		}
		req := Request{Tool: s.tool, Schema: s, Args: cur, Errors: curErr, Attempt: attempt}
		if curErr == nil && curToolErr != nil {
			req.ToolError = excerpt(curToolErr.Error(), ExcerptBytes)
		}
		start := l.cfg.clock.Now()
		res, err := l.cfg.repairer.Repair(ctx, req)
		st.models++
		if res.Called {
			l.cfg.observer.ModelCall(ctx, ModelCallEvent{
				Tool: s.tool, Attempt: attempt, Model: res.Model, Usage: res.Usage,
				Duration: l.cfg.clock.Now().Sub(start), Err: err,
			})
		}
		if err != nil {
			st.record(ctx, attempt, KindModel, OutcomeError)
			if cerr := ctx.Err(); cerr != nil {
				cause := err
				if !errors.Is(err, cerr) {
					cause = context.Cause(ctx)
				}
				return zero, st.fail(StopCanceled, cur, curErr, curToolErr, cause)
			}
			return zero, st.fail(StopRepairerFailed, cur, curErr, curToolErr, err)
		}
		nerr := s.validate(res.Args)
		if nerr == nil {
			r, terr := run(ctx, res.Args)
			if terr == nil || !errors.Is(terr, ErrRepairable) {
				st.record(ctx, attempt, KindModel, OutcomeRepaired)
				return r, terr
			}
			st.record(ctx, attempt, KindModel, OutcomeInvalid)
			if curErr == nil && curToolErr != nil && terr.Error() == curToolErr.Error() {
				return zero, st.fail(StopRepeated, res.Args, nil, terr, nil)
			}
			cur, curErr, curToolErr = res.Args, nil, terr
			continue
		}
		st.record(ctx, attempt, KindModel, OutcomeInvalid)
		if nerr.sameAs(curErr) {
			return zero, st.fail(StopRepeated, res.Args, nerr, nil, nil)
		}
		cur, curErr, curToolErr = res.Args, nerr, nil
	}
}
