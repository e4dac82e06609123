package fallback

import (
	"errors"
	"fmt"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// Defaults for every step's circuit breaker, applied when the matching
// StepOption is not given.
const (
	// DefaultFailureThreshold is the number of consecutive failures that
	// open a step's breaker.
	DefaultFailureThreshold = 5
	// DefaultOpenTimeout is how long a breaker stays open before it lets
	// probes through (half-open).
	DefaultOpenTimeout = 30 * time.Second
	// DefaultHalfOpenProbes is the number of probe calls a half-open breaker
	// admits at once; that many consecutive successes close it.
	DefaultHalfOpenProbes = 1
)

// ErrInvalidConfig is matched by every error New returns for a bad
// configuration.
var ErrInvalidConfig = errors.New("fallback: invalid configuration")

// Option configures a Chain. Options are made by the With* functions of this
// package.
type Option interface{ applyChain(*chainConfig) }

// StepOption configures one step. Step options are made by the With*
// functions of this package.
type StepOption interface{ applyStep(*stepConfig) }

type chainConfig struct {
	observer Observer
	classify func(error) bool
	clock    clock.Clock
}

type stepConfig struct {
	timeout     time.Duration
	threshold   int
	openTimeout time.Duration
	probes      int
	set         int // number of options given, for nested steps
}

func defaultChainConfig() chainConfig {
	return chainConfig{clock: clock.Real}
}

func defaultStepConfig() stepConfig {
	return stepConfig{
		threshold:   DefaultFailureThreshold,
		openTimeout: DefaultOpenTimeout,
		probes:      DefaultHalfOpenProbes,
	}
}

func (c *stepConfig) validate() error {
	switch {
	case c.timeout < 0:
		return fmt.Errorf("%w: negative timeout %v", ErrInvalidConfig, c.timeout)
	case c.threshold < 1:
		return fmt.Errorf("%w: failure threshold %d < 1", ErrInvalidConfig, c.threshold)
	case c.openTimeout <= 0:
		return fmt.Errorf("%w: open timeout %v <= 0", ErrInvalidConfig, c.openTimeout)
	case c.probes < 1:
		return fmt.Errorf("%w: half-open probes %d < 1", ErrInvalidConfig, c.probes)
	case c.probes > 1<<20 || c.threshold > 1<<30:
		return fmt.Errorf("%w: breaker counts too large", ErrInvalidConfig)
	}
	return nil
}

type chainOption func(*chainConfig)

func (f chainOption) applyChain(c *chainConfig) { f(c) }

type stepOption func(*stepConfig)

func (f stepOption) applyStep(c *stepConfig) { f(c); c.set++ }

// WithObserver sends every step outcome and breaker transition of the chain
// to o. Default: none.
func WithObserver(o Observer) Option {
	return chainOption(func(c *chainConfig) { c.observer = o })
}

// WithClassifier adds a rule for errors that fall through to the next step:
// when f(err) reports true, the step counts as unavailable (and as a failure
// for its breaker). The built-in rules apply first. Use it for tool errors
// such as HTTP 429 or 5xx. Default: none.
func WithClassifier(f func(err error) bool) Option {
	return chainOption(func(c *chainConfig) { c.classify = f })
}

// WithClock sets the clock used for step timeouts. Default: the wall clock.
// The breakers themselves (gobreaker) always use the wall clock.
func WithClock(c clock.Clock) Option {
	return chainOption(func(cfg *chainConfig) { cfg.clock = clock.Or(c) })
}

// WithTimeout bounds each call of the step: when d passes, the step's context
// is canceled (its cause is ErrStepTimeout, its Err is
// context.DeadlineExceeded), the call counts as a breaker failure and the
// chain moves on without waiting for the step to return. Default: 0, no
// timeout (the step runs on the caller's goroutine and is not cut).
func WithTimeout(d time.Duration) StepOption {
	return stepOption(func(c *stepConfig) { c.timeout = d })
}

// WithFailureThreshold sets the number of consecutive failures that open the
// step's breaker. Default: DefaultFailureThreshold (5).
func WithFailureThreshold(n int) StepOption {
	return stepOption(func(c *stepConfig) { c.threshold = n })
}

// WithOpenTimeout sets how long the step's breaker stays open before it
// half-opens. Default: DefaultOpenTimeout (30s).
func WithOpenTimeout(d time.Duration) StepOption {
	return stepOption(func(c *stepConfig) { c.openTimeout = d })
}

// WithHalfOpenProbes sets how many calls a half-open breaker admits at once;
// that many consecutive successes close it, one failure reopens it.
// Default: DefaultHalfOpenProbes (1).
func WithHalfOpenProbes(n int) StepOption {
	return stepOption(func(c *stepConfig) { c.probes = n })
}
