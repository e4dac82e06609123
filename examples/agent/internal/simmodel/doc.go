// Package simmodel is a simulated large language model that speaks the
// OpenAI chat completions API, so that the example agent runs offline, with no
// account and no network beyond loopback.
//
// # Model
//
// A Server answers POST /v1/chat/completions (and /chat/completions) like an
// OpenAI-compatible provider, plain JSON or Server-Sent Events:
//
//   - with tools offered and no tool result yet after the last user message,
//     it plans tool calls from the prompt's words: "prime" calls
//     compute_primes with the first number in the prompt, "fact", "who",
//     "capital" or a known topic call lookup_fact, anything else calls
//     web_search with the prompt as the query (only tools the request offers
//     are called);
//   - once tool results follow the last user message, it answers with a
//     summary of them (finish_reason "stop");
//   - asked to correct a tool call's arguments (the repair package's
//     prompt: "Tool: …", "JSON Schema of its arguments:", "Arguments to
//     correct:"), it replies with one JSON object that fits the schema: it
//     salvages what the broken arguments still say (fences, prose, single
//     quotes, trailing commas, truncation, numbers written as strings) and
//     fills required properties it cannot recover from the schema's default,
//     examples, enum or bounds.
//
// With WithMalformedRate(p), each planned tool call's arguments are, with
// probability p, emitted wrapped in a Markdown fence (repaired locally) or
// with an integer written as a string (repaired by the model), so the repair
// loop has work without any chaos fault.
//
// Every response carries usage: prompt_tokens (about one token per four
// bytes of the messages and tool definitions), completion_tokens and
// total_tokens; streamed responses carry it in a last chunk with no choices
// when the request sets stream_options.include_usage, as OpenAI does.
// The response's model is the request's model.
//
// # Determinism
//
// Every random choice (malformed arguments, ids) is drawn from a generator
// seeded with the server's seed and a hash of the request's model and
// messages, so a given seed and request always get the same answer, whatever
// the order in which concurrent requests arrive. The created timestamp
// comes from the clock.
//
// # Defaults
//
//	seed            1                 WithSeed
//	malformed rate  0                 WithMalformedRate, in [0,1]
//	latency         0                 WithLatency (time to the first byte)
//	clock           clock.Real        WithClock (latency waits on its timers)
//	body limit      4 MiB             requests above it get 413
//
// # Concurrency
//
// A Server is safe for concurrent use. Start runs an http.Server on a
// loopback port in a goroutine that Close stops; Handler serves the same API
// for callers that run their own listener.
package simmodel
