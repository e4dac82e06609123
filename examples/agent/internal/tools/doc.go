// Package tools holds the example agent's tools, their JSON Schemas and the
// fallback chains they run in.
//
// # Model
//
// Three tools are offered to the model:
//
//	lookup_fact     {"topic": string}                       a fact from the facts table
//	compute_primes  {"limit": integer 2..1000000}           how many primes up to limit
//	web_search      {"query": string, "max_results": 1..10} search results
//
// Each runs as a fallback.Chain named after it, so that every call is
// reported to the fallback Observer (the agent.tool.success metric) and each
// step has a circuit breaker. web_search is the chain
//
//	web_search → cached_snapshot → static_kb
//
// where web_search is a simulated web search engine (deterministic results
// from a small corpus, an optional latency on the clock, cut by the step's
// timeout), cached_snapshot answers from the results of earlier live
// searches and a snapshot shipped with the service, and static_kb answers
// from the static knowledge base, always. lookup_fact and compute_primes are
// chains of one step.
//
// A chaos fault drawn for a call (an outage or a throttle) is handed to the
// call with WithFault: the tool's live step fails with it, and because chaos
// errors report Unavailable() == true, the chain falls through to its next
// step (web_search) or ends without a value (the one-step tools).
//
// Registry returns the schemas compiled for the repair package; the schemas
// carry defaults and examples, which the simulated model uses to fill values
// it cannot recover when it repairs arguments.
//
// # Defaults
//
//	search latency   0             WithSearchLatency
//	search timeout   2s            WithSearchTimeout
//	snapshot size    256 queries   WithSnapshotSize
//	breakers         fallback's defaults (5 failures, 30s open)
//	clock            clock.Real    WithClock
//
// # Concurrency
//
// A Set is safe for concurrent use by multiple goroutines. It starts no
// goroutine except the one fallback runs for a step with a timeout, which
// ends when the step returns.
package tools
