// Package fallback runs ordered chains of tools with a circuit breaker per
// tool, so that an agent whose web search times out answers from a cached
// snapshot or a static knowledge base instead of failing, and stops calling a
// tool that keeps failing.
//
// # Model
//
// A Chain[In, Out] is built by New from named steps, tried in order:
//
//	chain, err := fallback.New("knowledge", []fallback.Step[Query, Answer]{
//		fallback.NewStep("web_search", webSearch, fallback.WithTimeout(2*time.Second)),
//		fallback.NewStep("snapshot", snapshot),
//		fallback.NewStep("static_kb", staticKB),
//	}, fallback.WithObserver(obs))
//	r, err := chain.Do(ctx, q) // r.Value, r.Step ("snapshot"), r.Tried, r.Calls, r.Fallback
//
// Each step is a func(ctx, In) (Out, error) with its own circuit breaker
// (github.com/sony/gobreaker/v2) and an optional timeout. Do returns the
// first value served. What happens after a step fails depends on its error:
//
//   - It falls through to the next step when it matches ErrUnavailable
//     (steps wrap it), when some error in its tree has a method
//     Unavailable() bool that reports true (the chaos package's faults do;
//     this package does not import chaos), when the step's breaker rejected
//     the call (ErrBreakerOpen, gobreaker.ErrOpenState or
//     gobreaker.ErrTooManyRequests), when the step's own timeout cut it
//     (ErrStepTimeout), when it matches ErrNoToolAvailable (a nested chain
//     with nothing left), or when the classifier given with WithClassifier
//     accepts it (for instance HTTP 429 and 5xx).
//   - The caller's cancellation or deadline (ctx.Err() != nil after the
//     step returns) ends the call; the error returned matches ctx.Err(). It
//     never counts against the breaker. A caller's deadline is told apart
//     from the step's own timeout, which falls through.
//   - Any other error ends the call and is returned as it is.
//
// When every step falls through, Do returns an *ExhaustedError: it matches
// ErrNoToolAvailable and, through Unwrap() []error, each step's error. When
// every breaker is open, that happens without calling anything.
//
// A chain can be a step of another chain (Nested). An attempt budget carried
// in the context (WithAttemptBudget) bounds the number of tool calls one
// request makes across all chains and nested chains, so fallbacks never
// multiply load; a call that finds the budget spent ends with an error
// matching both ErrAttemptBudgetExhausted and ErrNoToolAvailable.
//
// # Breakers
//
// Each leaf step has its own gobreaker.CircuitBreaker. What it counts:
//
//   - success: the step served, or it answered with an error that does not
//     fall through (the tool is reachable; the error is the caller's);
//   - failure: an error that falls through, a step timeout, or a panic;
//   - neither (excluded): the caller's cancellation, a spent budget.
//
// It opens after WithFailureThreshold consecutive failures, rejects calls
// while open, half-opens after WithOpenTimeout, then admits
// WithHalfOpenProbes calls at once: that many consecutive successes close
// it, one failure reopens it. A probe that hangs is cut by the step's
// timeout (which counts as a failure), so a breaker with a timeout on its
// step never stays half-open. Chain.States and Chain.State read the breakers
// for dashboards.
//
// # Defaults
//
//	Setting                   Default                          Option
//	consecutive failures      5 (DefaultFailureThreshold)      WithFailureThreshold
//	open timeout              30s (DefaultOpenTimeout)         WithOpenTimeout
//	half-open probes          1 (DefaultHalfOpenProbes)        WithHalfOpenProbes
//	step timeout              none                             WithTimeout
//	classifier                none (built-in rules only)       WithClassifier
//	observer                  none                             WithObserver
//	clock (step timeouts)     wall clock                       WithClock
//	attempt budget            none (unbounded)                 WithAttemptBudget(ctx, n)
//
// The breakers' counts never reset on a schedule while closed: only
// consecutive failures matter. The breakers run on the wall clock
// (gobreaker has no clock injection); step timeouts use the chain's clock.
//
// # Observing
//
// An Observer gets one ToolEvent for every step a call reaches, with a
// Status that is the agent.tool.success metric's status attribute:
//
//   - success: this step served the call;
//   - fallback: this step did not serve and the call moved on to a later
//     step (it was unavailable, timed out, or its breaker rejected it);
//   - failure: this step did not serve and the request ends here without a
//     value (an error that does not fall through, the caller's
//     cancellation, a spent budget, or the last step of the request failed).
//
// So every top-level Do produces exactly one success or failure event plus
// one fallback event per hop, even across nested chains (the last step of a
// nested chain that is followed by more steps reports fallback). A tool's
// availability is success / (success + fallback + failure) over its own
// events; the request-level success rate is success / (success + failure)
// over all events. Nested steps report nothing themselves. The Reason field
// tells why (served, unavailable, breaker_open, timeout, error, canceled,
// budget_exhausted).
//
// Breaker transitions are reported as BreakerEvent, in order per breaker,
// outside gobreaker's lock: an Observer may call Chain.States.
//
// # Concurrency
//
// A Chain is safe for concurrent use by multiple goroutines; its breakers are
// shared by all callers. A step without a timeout runs on the caller's
// goroutine. A step with a timeout runs on a goroutine of its own that Do
// waits for; when the timeout or the caller's cancellation wins, Do returns
// at once with the step's context canceled, and that goroutine ends when the
// step function returns (its result is dropped). Step functions must
// therefore honour their context. A panic in a step is counted as a breaker
// failure and raised again on the caller's goroutine (unless the step had
// already been cut by its timeout; that late panic is dropped with its
// result).
//
// # Cost
//
// When the first step serves and has no timeout, Do makes no allocation and
// costs one gobreaker Execute (two wall-clock reads and a mutex) plus about
// 30ns; an attempt budget or an observer adds a few nanoseconds and no
// allocation. A step with a timeout costs a goroutine, a timer and a context
// per call. Falling through to a step that serves allocates nothing either;
// only a call that ends with an *ExhaustedError allocates it.
package fallback
