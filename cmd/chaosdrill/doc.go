// Command chaosdrill drills a running llmops service: it turns a fault on
// through the chaos admin API, drives load at the service open-loop, turns
// the fault off again and reports how the service held up and healed.
//
// Usage:
//
//	chaosdrill [flags]
//
// Examples:
//
//	# A tool outage for 30 s at 20 requests/s; fail below 99 % success.
//	export LLMOPS_ADMIN_TOKEN=...
//	chaosdrill -mode outage -target tool:web_search -probability 1 \
//	    -rate 20 -duration 30s -slo 0.99
//
//	# A throttled model for one tenant, the report as JSON.
//	chaosdrill -token "$TOKEN" -mode throttle -target model -retry-after 2s \
//	    -tenant acme -header 'X-Tenant-ID: acme' -rate 50 -duration 1m -json
//
//	# A baseline without any fault, 1000 requests.
//	chaosdrill -no-fault -rate 100 -requests 1000
//
// # Flow
//
// POST /admin/chaos sets the fault (bearer token from -token or
// LLMOPS_ADMIN_TOKEN). A 401, another refusal (the server's message is
// printed) or an unreachable admin API stops the drill before any load.
// Then -rate requests per second are sent for -duration (or -requests of
// them), each due at its own time whatever the service does: at most
// -concurrency are in flight, and a send due while the bound is reached is
// dropped and counted, never delayed. Finally DELETE /admin/chaos clears the
// faults — also after Ctrl-C or SIGTERM and after an error. The fault's TTL
// (by default the drill's span plus -timeout plus a minute) turns it off even
// if that last call cannot reach the service.
//
// Progress goes to stderr every -progress: one line rewritten in place on a
// terminal, plain lines otherwise. The report goes to stdout, as text or
// with -json as JSON.
//
// # Report
//
// Sends planned, sent, dropped (concurrency bound), late (sender behind
// schedule), canceled (interrupted); answers per status code; transport
// errors by kind (timeout, refused, reset, dns, other); success ratio =
// 2xx ÷ completed; latency p50/p95/p99/max over the answers (exact up to
// 2^20 answers, a uniform sample beyond, max always exact); answers per
// serving instance (X-Instance-ID) and model (X-Agent-Model); healing
// signals: fallbacks (sum of X-Agent-Fallbacks), repairs (sum of
// X-Agent-Repairs), downshifts (X-Budget-Decision: downshift), blocks
// (X-Budget-Decision: block, or a 429 with error code budget_exceeded) and
// healed (2xx answers that needed a fallback or a repair).
//
// # Exit codes
//
//	0    the drill ran and met -slo (or no -slo was given)
//	1    the drill ran and the success ratio is below -slo
//	2    bad flags or configuration; nothing was sent
//	3    the drill failed: service or admin API unreachable, 401 or another
//	     refusal from the admin API, the fault could not be cleared
//	130  interrupted (Ctrl-C, SIGTERM); the fault was cleared and the
//	     partial report printed
package main
