// Package drill runs a chaos drill against a running llmops service: it
// turns a fault on through the chaos admin API, drives load at the service,
// turns the fault off and reports how the service held up and healed.
//
// It speaks HTTP only, so it drills any build of the service, local or
// remote; the chaosdrill command is a thin flag layer over Run.
//
// # Model
//
// A drill has three phases.
//
//  1. Set: POST /admin/chaos with the Fault (bearer token), bounded by
//     Timeout. A 401, any other non-2xx answer (its JSON error message is
//     kept in *AdminError) or an unreachable admin API ends the drill before
//     any load is sent; when the call's outcome is unknown (cancelled or
//     timed out after it left), the drill clears before it returns. A nil
//     Fault runs a baseline and never calls the admin API.
//  2. Load: Planned = floor(Rate × Duration) sends (capped by Requests), the
//     i-th due at start + i/Rate. The schedule is open-loop: a slow service
//     never slows the sender down. At most Concurrency requests are in
//     flight; a send that falls due while the bound is reached is dropped
//     and counted in Report.Dropped, and a send that leaves more than one
//     interval behind schedule (the sender itself was starved) is counted
//     in Report.Late. Each request is bounded by Timeout.
//  3. Clear: DELETE /admin/chaos, which clears every active fault, on every
//     path once the set call may have reached the server — normal end,
//     cancellation of ctx (Ctrl-C in the command), error. It runs on
//     context.WithoutCancel(ctx) bounded by ClearTimeout. Should it fail,
//     the fault still expires by its TTL, which by default is the drill's
//     span plus Timeout plus TTLMargin.
//
// # Report
//
// Success is a 2xx answer; SuccessRatio = Successes ÷ Completed, where
// Completed counts answers of any status plus transport errors (by kind:
// timeout, refused, reset, dns, other). Requests aborted by the caller's
// cancellation are counted as Canceled, outside the ratio. Latency runs
// from the send to the end of the answer's body; p50/p95/p99 are exact
// nearest-rank percentiles of the sorted samples while at most MaxSamples
// answers were measured (1<<20 by default, 8 MiB), and those of a uniform
// reservoir sample (fixed seed) past that; Max is always exact.
//
// The service's response headers give the rest: X-Instance-ID (answers per
// serving instance), X-Agent-Model, X-Agent-Fallbacks and X-Agent-Repairs
// (summed), X-Budget-Decision (downshift and block counted), and a 429 whose
// JSON error code is budget_exceeded is a budget block too. Distinct
// instance ids and models are capped at 1024 (OtherKey beyond).
//
// # Defaults
//
//	Method            POST
//	Path              /chat
//	Body              DefaultBody for POST, with Content-Type application/json
//	AdminURL          URL (endpoint AdminURL + /admin/chaos)
//	Concurrency       64
//	Timeout           30s per request
//	ClearTimeout      5s
//	Fault.TTL         span + Timeout + 1m, at most 24h
//	MaxSamples        1<<20
//	ProgressInterval  1s
//	Clock             clock.Real
//
// # Concurrency
//
// Run may be called from several goroutines with distinct Configs. Within a
// drill, Config.Progress is called from one goroutine at a time, never after
// Run returns. Run starts one goroutine per request in flight and one for
// progress, and waits for all of them before it returns. A caller-supplied
// Client is used as is for the load; admin calls use a copy that does not
// follow redirects (a redirected POST would lose its body).
package drill
