// Package config reads the example agent's configuration from command-line
// flags, environment variables and an optional budget file.
//
// # Sources
//
// Flags come first where both exist; the environment variables are the ones
// a deployment sets:
//
//	LLMOPS_ADDR                             -addr            listen address (127.0.0.1:8080)
//	LLM_BASE_URL, LLM_API_KEY, LLM_MODEL    -llm-base-url, -llm-api-key, -model
//	                                        an OpenAI-compatible endpoint instead of the
//	                                        simulated model; LLM_MODEL is the primary model
//	REDIS_URL                               -redis-url       budgets and chaos on Redis
//	APPLICATIONINSIGHTS_CONNECTION_STRING   metrics to Application Insights
//	OTEL_EXPORTER_OTLP_ENDPOINT             metrics over OTLP/HTTP
//	LLMOPS_ADMIN_TOKEN                      bearer token of /admin/chaos; generated when unset
//	LLMOPS_INSTANCE_ID                      -instance        the X-Instance-ID value
//
// Budgets come from -budget-default (USD per period for every tenant),
// repeated -budget tenant=USD flags and -budget-file, a JSON file:
//
//	{"period": "month", "default_usd": 10, "downshift_at_percent": 80,
//	 "estimate_usd": 0.02, "tenants": {"acme": 25, "trial": 0.5}}
//
// The file is strict JSON: one object, keys spelled exactly and each given
// once, no null, valid UTF-8, nothing after it. A flag given on the command
// line wins over the file.
//
// # Errors
//
// Every error Load returns matches ErrConfig and fits on one line, so the
// command prints it and exits without a stack trace.
package config
