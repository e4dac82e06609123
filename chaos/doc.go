// Package chaos injects faults into an agent's edges at runtime — the model
// API and its tools — so that operators can watch the service heal.
//
// # Model
//
// An Injector holds up to MaxFaults active faults. Each fault has a Mode
// (Throttle, Malformed, Outage, Latency), a Target (the model edge, every
// tool, or one named tool), an optional tenant, a probability in [0,1] and
// a TTL after which it disappears by itself. Code at an edge asks the
// injector about each call:
//
//	eff, err := inj.Inject(ctx, chaos.Tool("web_search"), tenant)
//	if err != nil {
//		return err // *ThrottleError or *OutageError; both have Unavailable() == true
//	}
//	out := call()
//	out = eff.Corrupt(out) // no-op unless a Malformed fault hit the call
//
// Latency is waited out inside Inject, on the injector's clock, and cut
// short by ctx. A Throttle hit returns a *ThrottleError carrying RetryAfter
// (errors.Is(err, ErrThrottled)); an Outage hit returns an *OutageError
// (errors.Is(err, ErrOutage)). A Malformed hit asks the caller to corrupt
// the payload it got back with Effect.Corrupt, which makes it unparsable
// or no longer a JSON object, reproducibly for a given seed.
//
// When several faults match one call they are drawn in this order: every
// Latency fault (delays add up), then Outage, then Throttle faults (the
// first that fires fails the call and ends the draw), then Malformed.
// Every fault that fires is reported to the Observer with its mode and
// target, so that counts of injections match what callers saw.
//
// Setting a fault with the same mode, target and tenant as an active one
// replaces it. Request headers never turn chaos on: only Set (in code or
// through the admin handler) and redissync do. The tenant a call is made
// for is passed explicitly by the caller.
//
// # Admin API
//
// AdminHandler serves the JSON admin API, usually at /admin/chaos: GET
// lists the active faults with their remaining TTL, POST sets one, DELETE
// clears all. It requires a bearer token (compared in constant time on
// SHA-256 digests); constructing it without one is an error, except with
// WithoutAuthForLoopbackDevelopment, which then serves loopback clients
// only. Cross-site browser requests are refused. Bodies are bounded and
// decoded strictly (unknown fields, duplicate keys, trailing data: 400).
// A rejected request never changes state; an audit hook sees every change.
//
// AdminHandler.Protect puts another operator endpoint behind the same
// checks (loopback-only without auth, cross-origin refusal, bearer token
// with a 401 and WWW-Authenticate challenge), so one token guards them all;
// the protected handler reads the caller's identity with AdminPrincipal.
//
// # Defaults
//
//	TTL             DefaultTTL (10m), at most MaxTTL (24h)
//	active faults   at most MaxFaults (16)
//	retry_after     DefaultRetryAfter (1s) for throttle, at most 1h
//	latency         required for latency, at most MaxLatency (10m)
//	probability     1 when the admin body omits it
//	clock           the wall clock (WithClock)
//	randomness      the runtime's generator, not reproducible (WithSeed, WithRandSource)
//	admin body      DefaultMaxBodyBytes (8 KiB)
//	admin token     at least MinTokenLen (16) characters
//
// # Concurrency
//
// An Injector is safe for concurrent use. Inject reads an immutable
// snapshot through one atomic load: with no active fault it takes no lock
// and allocates nothing. With a matching fault active it reads the
// (monotonic) clock once and draws from the runtime's per-thread generator,
// or, with WithSeed, from a lock-free counter-based generator (one atomic
// add), or, with WithRandSource, from the given source under a mutex. Writers (Set, Load, Clear)
// serialize on a mutex and publish a new snapshot. Expiry needs no
// goroutine: expired faults are skipped by Inject and dropped from the
// snapshot by the next call or write that sees them. With WithSeed, a
// sequence of calls from one goroutine is reproducible; concurrent callers
// share the sequence in arrival order.
//
// For a fleet of instances, the redissync sub-package keeps every
// instance's injector in step through Redis; use its Sync as the admin
// handler's Controller.
package chaos
