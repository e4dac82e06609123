// Package sli records the service-level indicators of an LLM agent as
// OpenTelemetry metrics, and prices token usage with a rate card.
//
// HTTP status codes are not an agent's SLI: an agent answers 200 while its
// tasks fail, its tools fall back and its spend climbs. A Recorder records
// what matters instead — task outcomes, latency, tokens, cost, tool
// outcomes, repairs, downshifts, budget breaches and injected faults — next
// to the OpenTelemetry GenAI semantic-convention client metrics.
//
// # Model
//
// One method per event, with plain values:
//
//   - RecordTask: a completed task (agent.task.success or
//     agent.task.failure{reason}, agent.task.latency, agent.tokens.in,
//     agent.tokens.out, agent.cost.usd) in one call.
//   - RecordModelCall: one LLM API call (gen_ai.client.token.usage,
//     gen_ai.client.operation.duration).
//   - RecordToolOutcome, RecordRepair, RecordDownshift, RecordBudgetBreach,
//     RecordChaosInjected: agent.tool.success, agent.repair.retry,
//     agent.model.downshift, agent.budget.breach, agent.chaos.injected.
//   - RecordUnaccounted: a successful model response whose cost is unknown
//     (agent.model.unaccounted{reason}, beside the eleven): reason
//     UnaccountedNoUsage when it carried no token usage,
//     UnaccountedUnknownModel when the rate card cannot price its model, so
//     an unpriceable call is visible rather than a silent $0.
//
// Instruments (all created once, in New, on the meter named ScopeName):
//
//	agent.task.success               Int64Counter       {task}     tenant, model
//	agent.task.failure               Int64Counter       {task}     tenant, model, reason
//	agent.task.latency               Float64Histogram   s          tenant, model, outcome
//	agent.tokens.in                  Int64Counter       {token}    tenant, model
//	agent.tokens.out                 Int64Counter       {token}    tenant, model
//	agent.cost.usd                   Float64Counter     USD        tenant, model, rate_card.version
//	agent.tool.success               Int64Counter       {call}     tenant, tool, status
//	agent.repair.retry               Int64Counter       {attempt}  tool, attempt, kind, outcome
//	agent.model.downshift            Int64Counter       {request}  tenant, from_model, to_model
//	agent.budget.breach              Int64Counter       {breach}   tenant, decision
//	agent.chaos.injected             Int64Counter       {fault}    mode, target
//	agent.model.unaccounted          Int64Counter       {response} reason, gen_ai.provider.name,
//	                                                               gen_ai.request.model
//	gen_ai.client.token.usage        Int64Histogram     {token}    gen_ai.token.type, gen_ai.operation.name,
//	                                                               gen_ai.provider.name, gen_ai.request.model,
//	                                                               gen_ai.response.model
//	gen_ai.client.operation.duration Float64Histogram   s          the same but gen_ai.token.type, plus
//	                                                               error.type on failure
//
// Every agent metric is a monotonic counter (events never un-happen, and
// cost is recorded once, when it is known) except agent.task.latency, a
// histogram with buckets from 50 ms to 120 s (TaskLatencyBuckets). The GenAI
// histograms use the boundaries the semantic conventions advise
// (GenAITokenUsageBuckets, GenAIDurationBuckets). agent.tokens.* count the
// task's tokens (input includes cached input); RecordModelCall does not add
// to them, so a token is never counted twice. agent.cost.usd is the only
// float: money is int64 micro-USD everywhere else and is converted to USD at
// this edge.
//
// # Cardinality
//
// Attribute values that come from tenants or configuration — tenant, model,
// tool, failure reason, repair outcome, chaos mode and target, GenAI
// operation, provider, model and error type — are capped: each instrument
// (the five task instruments count as one, as do the two GenAI ones with
// agent.model.unaccounted, and agent.model.downshift's from_model and
// to_model share one cap)
// records at most DefaultMaxAttributeValues (100) distinct values per
// attribute, configurable with WithMaxAttributeValues; later values, and
// values longer than MaxAttributeValueLen bytes, are recorded as "_other".
// Empty values are recorded as "unknown". Enumerated attributes (status,
// kind, decision, and the reason of agent.model.unaccounted) take values
// from ToolStatus, RepairKind, BreachDecision and UnaccountedReason; an
// invalid enum value is recorded as "_other". The cap
// is reached once and never reset, so the first values seen keep their
// series for the life of the Recorder.
//
// # Performance
//
// Attribute sets are built once per combination of admitted values and
// kept as prebuilt measurement options; admitted values and prebuilt
// options are looked up without locks (atomic loads of immutable maps,
// copied on the rare insertion). After the first task of a (tenant, model) pair RecordTask
// does not allocate, and with the OpenTelemetry SDK the measurements
// themselves do not allocate either.
//
// # Rate card
//
// A RateCard prices Usage in integer micro-USD, rounded up, with 128-bit
// intermediate arithmetic (no overflow: a result above an int64 is
// ErrCostOverflow). Prices are per million tokens for input, cached input
// and output. Dated and provider-specific model names are normalized to
// their family (gpt-4o-2024-08-06 → gpt-4o, gpt-4o-mini-2024-07-18 →
// gpt-4o-mini, claude-3-5-sonnet-20241022 → claude-3-5-sonnet) and aliases
// map deployment names to models. An unknown model is an *UnknownModelError
// matching ErrUnknownModel unless the caller chose a fallback price
// (WithFallbackPrice); it is never priced at a silent $0. Cards are loaded
// from strict, validated JSON (LoadRateCard, LoadRateCardFile); the built-in
// DefaultRateCard holds dated public list prices that must be checked
// before relying on them.
//
// # Defaults
//
//	MeterProvider            otel.GetMeterProvider() at New
//	rate card                DefaultRateCard() (version builtin-2026-11-01)
//	max attribute values     100 per attribute per instrument
//	unknown models           refused (ErrUnknownModel)
//
// # Concurrency
//
// A Recorder and a RateCard are safe for concurrent use by multiple
// goroutines. A RateCard is immutable. A nil *Recorder is valid and records
// nothing. The package starts no goroutines and keeps no global state.
package sli
