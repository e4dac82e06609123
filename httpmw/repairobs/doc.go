// Package repairobs adapts the sli Recorder to the repair package's
// Observer, for services wrapped by httpmw. It lives apart from httpmw so
// that importing httpmw does not compile repair and its JSON Schema
// dependency.
//
// # Model
//
// Every repair attempt is recorded as agent.repair.retry (tool, attempt,
// kind local|model, outcome). Optionally, every repair model call is
// recorded as a GenAI model call and its usage added, priced, to the
// httpmw task in the call's context (httpmw.AddUsage), so the request's
// reservation is settled with it.
//
// # Defaults
//
// Model calls are not charged unless asked: when the repair model's
// http.Client goes through httpmw.Transport, the Transport already
// accounts for them, and charging them here would count them twice.
//
// # Concurrency
//
// The returned Observer is safe for concurrent use by multiple goroutines.
package repairobs
