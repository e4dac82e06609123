// Package repair validates an agent's tool-call arguments against the
// tool's JSON Schema and, when they do not fit, repairs them: first with
// cheap deterministic fixes, then by asking a model, a bounded number of
// times, with every model call's token usage reported so it can be charged.
//
// # Model
//
// A [Registry] maps tool names to schemas compiled once, at registration,
// with github.com/santhosh-tekuri/jsonschema/v6 (drafts 2020-12, 2019-09,
// 7, 6 and 4; "$schema" picks the draft, [WithDefaultDraft] sets it for
// schemas without one). Schemas must be self-contained: "$ref"s may point
// inside the schema or to the standard meta-schemas, and anything else
// (http, https, file, relative documents) is refused at registration with
// an error matching [ErrInvalidSchema]. Nothing is ever loaded from the
// network or the file system.
//
// Validation parses the raw argument bytes with this package's own JSON
// decoder, which accepts exactly what jsonschema.UnmarshalJSON accepts and
// yields equal values (checked by differential fuzzing) at a fraction of
// its allocations, then runs the compiled schema. A failure is a
// [*ValidationError]: a list of [Violation] (JSON Pointer of the instance,
// schema keyword, short message), sorted by path, keyword and message,
// deduplicated, capped at 8 entries of at most 160 bytes each (the rest is
// counted in Omitted), so it can go into a prompt as is. Arguments that are
// not one JSON document give a single violation with keyword "json";
// arguments over the size limit give keyword "size".
//
// A [Loop] runs the repair. [Do] validates the arguments, calls the tool
// with them when they are valid, and otherwise:
//
//  1. applies [CleanArgs] (attempt 0, kind local): removes a BOM, takes the
//     single JSON object out of Markdown fences or prose, or out of a JSON
//     string that contains it; two different objects are ambiguous and left
//     alone. It never converts, invents or drops a value: "5" stays "5".
//  2. asks the [Repairer] (attempts 1..MaxAttempts, kind model) with the
//     tool, schema, current arguments, violations and attempt number, and
//     validates each answer. [ModelRepairer] builds the prompt and calls a
//     minimal [Model] interface that any chat client can be adapted to.
//
// The tool runs with the first valid arguments. A tool error wrapping
// [ErrRepairable] (see [Repairable]) is fed back to the Repairer like a
// validation error; any other tool error is returned unchanged.
//
// The loop stops early when an attempt repeats the previous violations (or
// tool error), when ctx is done, when the [Guard] refuses (for example the
// tenant's budget went to Block), when the Repairer fails, or when
// arguments exceed the size limit (they are never sent to a model). The
// error is then a [*NotRepairedError] matching [ErrNotRepaired], carrying
// the attempts, the last violations, the [StopReason] and its cause; it
// unwraps to the last *ValidationError, the last tool error and the cause
// (guard error, context error, Repairer error). Raw arguments appear only
// in its Excerpt field, at most [ExcerptBytes] bytes, never in Error().
//
// # Observer
//
// An [Observer] receives, synchronously and with Do's context, one
// [ModelCallEvent] per Repairer call that reached a model, including failed
// and canceled ones (tool, attempt, model, [Usage], duration, error), so
// the caller can charge the tokens to the tenant, and one [AttemptEvent]
// per attempt (tool, attempt, kind local|model, outcome
// repaired|invalid|error), which maps to the agent.repair.retry counter.
// The package imports neither sli nor budget and logs nothing. A call whose
// first arguments are valid reports nothing.
//
// # Defaults
//
//	Registry  default draft            2020-12     WithDefaultDraft
//	          format assertion         per draft   WithFormatAssertion
//	          violations listed        8           WithMaxViolations (1..100)
//	          message length           160 B       WithMaxMessageBytes (32..4096)
//	          argument size limit      256 KiB     WithMaxArgsBytes (1 KiB..64 MiB)
//	Loop      model attempts           2           WithMaxAttempts (0..10)
//	          repairer                 none        WithRepairer (local fixes only)
//	          observer, guard          none        WithObserver, WithGuard
//	          clock                    real        WithClock
//	ModelRepairer  instructions        DefaultInstructions  WithInstructions
//	          arguments in prompt      16 KiB      WithPromptArgsBytes (256..1 MiB)
//
// # Concurrency
//
// Registry, Schema, Loop and ModelRepairer are safe for concurrent use by
// multiple goroutines; Registry lookups take no lock. Do runs on the
// caller's goroutine and starts none. The Repairer, Model, Observer and
// Guard you supply are called from the goroutines calling Do and must be
// safe for concurrent use if the Loop is shared.
//
// # Cost
//
// When the first arguments are valid, Do costs one parse and one
// validation and allocates nothing else: no observer call, no error value.
package repair
