// Package httpmw is the net/http glue of llmops: a server middleware that
// puts every agent request under a tenant's budget and records its outcome,
// a client Transport for the LLM client's http.Client that prices, downshifts
// and guards every model call, and an admin mount for operators. The agent
// code stays almost unaware of them.
//
// # Model
//
// One request to the agent is one task. The middleware (New, NewHandler):
//
//  1. resolves the tenant with a TenantFunc; an error answers 401 with a
//     JSON error before any budget or store work;
//  2. reserves the request's estimated cost with the budget.Enforcer:
//     Block answers 429 {"error":{"code":"budget_exceeded","limit_micro_usd",
//     "limit_usd","period_end",...}} with Retry-After = seconds to the end of
//     the period; a store failure under the enforcer's fail-closed policy
//     answers 503 {"error":{"code":"budget_unavailable"}}; Downshift puts
//     the WithDownshiftModel model in the task. Every response that reached
//     the budget check carries X-Budget-Decision (allow, downshift, block);
//     a 401 carries none, as no decision was taken;
//  3. starts a Task in the request context and runs the handler;
//  4. settles the reservation with the cost the task accumulated, on a
//     context detached from the request (a client that hung up still pays)
//     bounded by WithSettleTimeout, on every path: normal return, 5xx, panic,
//     client disconnect;
//  5. records the task once through the sli Recorder: success, unless the
//     handler called MarkFailed, answered 5xx (reason "server_error") or
//     panicked (reason "panic", or "aborted" for http.ErrAbortHandler; the
//     panic continues with the same value), with latency, tokens and cost.
//
// The Transport (NewTransport) handles chat completions, OpenAI-compatible
// (.../chat/completions) and Azure OpenAI
// (.../openai/deployments/{deployment}/chat/completions), streamed or not;
// other requests pass through untouched. Per call it:
//
//   - refuses the call with a *CapError (matching ErrTaskCapExceeded) when
//     the task reached one of its Limits (calls, tokens, cost), before any
//     request is sent; an agent loop turns it into a graceful answer;
//   - rewrites the model to the task's downshift model: the JSON model field
//     (only its bytes are replaced), or the Azure deployment segment of the
//     path through WithAzureDeployments; each rewrite counts
//     agent.model.downshift;
//   - for a streaming request, sets stream_options.include_usage so the
//     provider sends usage in its last chunk (an explicit false is
//     overridden);
//   - applies chaos faults aimed at the model edge, as a provider would show
//     them: throttle → a synthesized 429 with Retry-After and retry-after-ms
//     and OpenAI's rate-limit error body, outage → 503 with OpenAI's
//     server-error body, latency → a delay, malformed → the real response,
//     accounted for, then corrupted (the body is buffered to corrupt it);
//   - optionally retries 429 and 5xx (RetryPolicy);
//   - reads the usage while the caller reads the body: the top-level usage
//     object of a JSON response, or the last data event of an SSE stream
//     (other than [DONE]), without buffering the body; prices it with the rate card, records the
//     GenAI metrics (gen_ai.client.token.usage,
//     gen_ai.client.operation.duration) and adds tokens and cost to the task.
//     A successful response without usage, or with a model the rate card
//     cannot price, is counted through the Recorder as
//     sli.MetricUnaccounted (agent.model.unaccounted, reason no_usage or
//     unknown_model), never as a silent zero.
//
// Handlers reach the task through the context: MarkFailed, AddUsage (usage
// of a model call made without the Transport), AddCost (a paid tool),
// DownshiftModel and TaskFrom. StartTask gives agent loops that do not run
// behind the middleware (workers, CLIs) a task for the Transport.
//
// MountAdmin mounts the chaos admin API (chaos.NewAdminHandler) at
// /admin/chaos and a read-only view of a tenant's budget at
// GET /admin/budget/{tenant}, both behind the same bearer token.
//
// BudgetObserver, ChaosObserver and FallbackObserver adapt the sli Recorder
// to the observers of the budget, chaos and fallback packages, so breaches,
// injections and tool outcomes are recorded once, where they happen (the
// tool outcomes with the tenant of the task in the call's context). The
// repair observer adapter is in the sub-package httpmw/repairobs, so that
// importing httpmw does not compile repair's JSON Schema dependency.
//
// # Tenants
//
// HeaderTenant reads X-Tenant-ID (1 to 64 bytes of letters, digits and
// "-_.:"). It is a development convenience: any client can claim any tenant
// with a header. In production resolve the tenant from the authenticated
// principal (a verified token's claim, an mTLS identity) in a TenantFunc.
//
// # Defaults
//
//	Option                  Default                       Applies to
//	WithTenant              every request is "default"    middleware
//	WithBudget              no budget, no decision header middleware, MountAdmin
//	WithDownshiftModel      none                          middleware
//	WithBodyLimit           1 MiB (DefaultBodyLimit)      middleware
//	WithSettleTimeout       2 s (DefaultSettleTimeout)    middleware
//	WithRecorder            nothing recorded              middleware, Transport
//	WithRateCard            the recorder's rate card      middleware (AddUsage), Transport
//	WithChaos               no fault injection            Transport, MountAdmin
//	WithTaskLimits          no limit                      Transport
//	WithRetry               no retry                      Transport
//	WithAzureDeployments    deployment = model name       Transport
//	WithClock               wall clock                    both
//	WithRandSource          runtime generator             Transport (retry jitter)
//
// httpmw creates no instruments of its own: every metric is recorded
// through the WithRecorder Recorder, on the MeterProvider that Recorder was
// created with (sli.WithMeterProvider).
//
// With no option the middleware still starts a task per request (so the
// Transport and the context accessors work) and applies the body limit, but
// hands the handler the caller's ResponseWriter untouched. With a recorder
// the handler gets a wrapper that keeps http.Flusher and http.Hijacker and
// supports http.ResponseController through Unwrap, so SSE streaming works
// through it.
//
// # Limits of the usage reader
//
// Usage is read from a body the Transport sees uncompressed: when the
// caller sets Accept-Encoding itself, http.Transport no longer decompresses
// and a compressed response is counted as one without usage. An SSE usage
// object must sit in the stream's last data event, on one data line
// (OpenAI, Azure OpenAI and the OpenAI-compatible servers send it so); SSE
// lines longer than 1 MiB and usage objects larger than 4 KiB are not read.
//
// # Using the Transport with the OpenAI SDK
//
// openai-go retries 429 and 5xx itself, and retries transport errors too:
// with WithRetry set, give the client option.WithMaxRetries(0). A *CapError
// is a transport error to the SDK; its retries fail again at once without
// reaching the provider (only the SDK's backoff delays them), and the error
// it finally returns still matches ErrTaskCapExceeded.
//
// # Concurrency
//
// The middleware handler, the Transport and a Task are safe for concurrent
// use by multiple goroutines; a handler may run model calls in parallel
// under one task. Neither starts goroutines; nothing needs closing. Nothing
// is logged.
package httpmw
