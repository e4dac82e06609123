// Package service is the example agent service: an LLM agent with tools,
// wired to every llmops package, as an http.Handler that tests start
// in-process.
//
// # Routes
//
//	POST /chat              {"prompt": "..."} → the answer, the model used, the tool-call
//	                        trace (the step that served each call, chaos faults, repairs),
//	                        token usage and cost in USD
//	GET  /health            status, instance id, version
//	GET  /metrics           Prometheus (OpenTelemetry Prometheus exporter, private registry)
//	GET  /                  status page: what runs, active faults, tool breakers, links
//	     /admin/chaos       chaos admin API (httpmw.MountAdmin; bearer token)
//	GET  /admin/budget/{t}  a tenant's budget (bearer token)
//
// Every response carries X-Instance-ID; /chat also carries X-Agent-Model (the
// model that answered), X-Agent-Fallbacks (tool calls served by a fallback
// step), X-Agent-Repairs (tool calls whose arguments were repaired) and,
// from httpmw, X-Budget-Decision.
//
// # The walk of a chat
//
// httpmw resolves the tenant (the X-Tenant-ID header, or the configured
// default tenant when absent), reserves the per-request estimate against the
// tenant's budget (Block: 429 with Retry-After; Downshift: the cheaper model)
// and records the task's outcome, latency, tokens and cost when the handler
// returns. The agent loop calls the model with the official OpenAI Go SDK,
// whose http.Client uses the httpmw Transport (usage, pricing, downshift,
// chaos at the model edge, retries of 429/5xx). For each tool call it draws
// chaos at the tool edge once: an outage or throttle fails the tool's live
// step (the fallback chain moves on), a malformed fault corrupts the call's
// arguments, a latency fault delays the call. The arguments then go through
// repair (schema validation, local fixes, a repair prompt to the model) and
// the tool through its fallback chain. A model answer that cannot be read is
// asked again twice at most.
//
// A task fails (non-2xx, agent.task.failure with the reason) when the model
// fails (model_error), a tool call could not be served (tool_failure) or its
// arguments not repaired (invalid_output), the per-task call cap is reached
// (task_cap), no answer came within the turn limit (max_turns), or the client
// went away (canceled).
//
// # Backends
//
// Without LLM_BASE_URL the simulated model (package simmodel) runs on a
// loopback port. With REDIS_URL budgets use budget/redisstore and chaos
// faults are shared with chaos/redissync; otherwise both are in memory.
// Prometheus is always exported; OTLP/HTTP and Application Insights when
// configured, every 30 s.
//
// # Concurrency
//
// A Service is safe for concurrent use. New starts the simulated model's
// server and, with Redis, the chaos sync; Close stops them and flushes the
// exporters.
package service
