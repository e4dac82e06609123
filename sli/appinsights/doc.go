// Package appinsights exports OpenTelemetry metrics to Azure Application
// Insights, where they land in the customMetrics table.
//
// It provides Exporter, an sdkmetric.Exporter that sends every data point as
// one pre-aggregated metric item, built on the data contracts of the
// Application Insights Go library
// (github.com/microsoft/ApplicationInsights-Go/appinsights/contracts) and its
// wire format. Use it with a PeriodicReader beside (or instead of) OTLP or
// Prometheus:
//
//	exp, err := appinsights.NewFromEnv() // APPLICATIONINSIGHTS_CONNECTION_STRING
//	if err != nil { ... }
//	mp := sdkmetric.NewMeterProvider(
//		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Minute))),
//		sdkmetric.WithResource(res), // service.name becomes cloud_RoleName
//	)
//	defer mp.Shutdown(ctx) // collects, exports (posts) and shuts the exporter down
//
// # Configuration
//
// New takes an Application Insights connection string,
// "InstrumentationKey=<guid>;IngestionEndpoint=https://...;LiveEndpoint=https://...";
// NewFromEnv reads it from APPLICATIONINSIGHTS_CONNECTION_STRING. See
// ParseConnectionString for the accepted syntax. Telemetry is posted to the
// ingestion endpoint followed by /v2/track; without an IngestionEndpoint (or
// EndpointSuffix) the endpoint is https://dc.services.visualstudio.com/v2/track.
// Parsing errors name the faulty key and segment but never repeat the
// instrumentation key or any other value, and ConnectionString.String
// redacts the key.
//
// Defaults (each changed with an Option):
//
//	max batch size      1024 items per request (WithMaxBatchSize; the library's batch size)
//	HTTP client         30 s timeout over a private clone of http.DefaultTransport (WithHTTPClient)
//	resource dimensions none        (WithResourceDimensions)
//	error handler       none        (WithErrorHandler)
//	clock               clock.Real  (WithClock; Retry-After waits)
//	longest Retry-After 1 min       (MaxRetryAfter; longer means no retry)
//
// Nothing is buffered: the sdkmetric.PeriodicReader's interval is the only
// batching interval.
//
// # What goes to customMetrics
//
// Each data point becomes one item whose name is the instrument name
// unchanged (e.g. "agent.task.success") and whose customDimensions are the
// point's attributes (key unchanged, value as attribute.Value.String gives it:
// "true", "42", `["a","b"]` for slices), plus the resource attributes named
// by WithResourceDimensions; a point attribute wins over a resource one.
// The resource's service.name (preceded by service.namespace and a dot when set)
// becomes cloud_RoleName, service.instance.id becomes cloud_RoleInstance
// (by default the host name, as the library does). The item's timestamp is
// the end of the collection interval. The unit is not sent (customMetrics
// has no unit column).
//
// Values (columns value/valueSum, valueCount, valueMin, valueMax):
//
//   - Counters (synchronous and observable) use delta temporality: value is
//     the increase during the interval, count 1, min = max = value. Sum
//     valueSum over time to get totals.
//   - Up-down counters use cumulative temporality: value is the current
//     level, count 1, min = max = value.
//   - Histograms use delta temporality: value is the sum of the interval's
//     recordings, count their number, min and max their extremes (the mean
//     when min/max were not recorded). The exporter's default histogram
//     aggregation has no buckets, since customMetrics keeps none.
//   - Gauges: value is the last value, count 1, min = max = value.
//
// Float and integer instruments are handled alike. Points with a NaN or
// infinite value are skipped (Export returns an error matching
// ErrNonFinite); delta points with nothing recorded are not sent.
//
// # Wire format
//
// Items are what the library's TelemetryClient sends for an
// AggregateMetricTelemetry: a contracts.Envelope named
// "Microsoft.ApplicationInsights.<key without dashes>.Metric" with iKey set,
// time in UTC with microseconds, and data {baseType "MetricData", baseData
// MetricData{ver 2, one DataPoint of kind Aggregation with value (sum),
// count, min, max and stdDev 0, properties}}. Tags are the library's
// defaults (ai.internal.sdkVersion "go:0.4.4", ai.device.osVersion,
// ai.device.id and ai.cloud.roleInstance set to the host name) plus the
// resource-derived ai.cloud.role and ai.cloud.roleInstance; the library's
// random ai.operation.id per item is not sent (metrics belong to no
// operation). The envelopes are JSON, one per line, gzip'd and POSTed to the
// track endpoint with Content-Type application/x-json-stream and
// Content-Encoding gzip.
//
// # Delivery
//
// Export converts the points and posts them before it returns, in requests
// of at most WithMaxBatchSize items; the context passed to Export (the
// PeriodicReader's export timeout, 30 s by default) bounds everything,
// including a retry and its wait. The ingestion endpoint's answer is
// honoured:
//
//   - 200: delivered.
//   - 206 partial success: the items the response lists with status 408,
//     429, 439, 500 or 503 are posted once more; the other listed items are
//     dropped and counted as not delivered. A 206 whose body cannot be read
//     counts the whole request as not delivered and is not retried (its
//     accepted items would be sent twice).
//   - 408, 429, 439, 500, 503 and transport errors: the request is posted
//     once more.
//   - any other status: the items are dropped.
//
// A retry happens at once, or after the response's Retry-After (seconds or
// an HTTP date) when that is at most MaxRetryAfter and ends before the
// context's deadline; otherwise there is no retry. Every failed attempt is
// reported to the WithErrorHandler function as a *TransmitError, and when
// items were finally not delivered Export returns an error wrapping the
// last one (matching ErrTransmit; also the context's error when it ended).
// The PeriodicReader hands that error to the OpenTelemetry error handler.
// Nothing is logged and nothing is kept for a later attempt.
//
// ForceFlush waits until no Export is in progress. Shutdown makes later
// calls fail with ErrShutdown and waits for the Exports in progress; if its
// context ends first, it cancels their requests (they return an error
// matching ErrShutdown) and returns the context's error.
//
// # Concurrency and goroutines
//
// An Exporter is safe for concurrent use; Exports may overlap. It starts no
// goroutine: every request is made by the goroutine calling Export. With the
// default HTTP client, whose transport is the Exporter's own, Shutdown
// closes the idle keep-alive connections, so nothing of the Exporter
// outlives it; a client passed to WithHTTPClient belongs to the caller. The
// Application Insights library's TelemetryClient and InMemoryChannel are not
// used, so none of their goroutines, package-level diagnostics or wall-clock
// back-off is involved.
package appinsights
