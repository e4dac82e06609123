// Package appinsights exports OpenTelemetry metrics to Azure Application
// Insights, where they land in the customMetrics table.
//
// It provides Exporter, an sdkmetric.Exporter built on the Application
// Insights Go library (github.com/microsoft/ApplicationInsights-Go), which
// sends every data point as one pre-aggregated metric item. Use it with a
// PeriodicReader beside (or instead of) OTLP or Prometheus:
//
//	exp, err := appinsights.NewFromEnv() // APPLICATIONINSIGHTS_CONNECTION_STRING
//	if err != nil { ... }
//	mp := sdkmetric.NewMeterProvider(
//		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Minute))),
//		sdkmetric.WithResource(res), // service.name becomes cloud_RoleName
//	)
//	defer mp.Shutdown(ctx) // collects, exports, flushes and waits
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
//	max batch size      1024 items  (WithMaxBatchSize; library default)
//	max batch interval  10 s        (WithMaxBatchInterval; library default)
//	HTTP client         30 s timeout over http.DefaultTransport (WithHTTPClient)
//	resource dimensions none        (WithResourceDimensions)
//	error handler       none        (WithErrorHandler)
//
// # What goes to customMetrics
//
// Each data point becomes one item whose name is the instrument name
// unchanged (e.g. "agent.task.success") and whose customDimensions are the
// point's attributes (key unchanged, value as attribute.Value.Emit gives it:
// "true", "42", `["a","b"]` for slices), plus the resource attributes named
// by WithResourceDimensions; a point attribute wins over a resource one.
// The resource's service.name (preceded by service.namespace and a dot when set)
// becomes cloud_RoleName, service.instance.id becomes cloud_RoleInstance
// (the library's default is the host name). The item's timestamp is the end
// of the collection interval. The unit is not sent (customMetrics has no
// unit column).
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
// # Delivery
//
// Export converts the points and hands them to the library's in-memory
// channel, which posts gzip'd newline-delimited JSON envelopes when the
// batch is full or the batch interval has passed. ForceFlush asks the
// library to send its buffer now without waiting for the request (the
// library offers no acknowledgement). Shutdown flushes, stops the library
// and waits, bounded by its context, for the requests to finish.
//
// When the endpoint answers 408, 429, 439, 500 or 503 (or with Retry-After,
// or a partial 206), the library retries the batch after waiting 10 s, 30 s
// and 60 s (four attempts over about 100 s), then drops it; on 429/439 with Retry-After it also holds
// back new batches until then, dropping items beyond one batch. Other statuses drop the batch at once. During Shutdown a
// failed batch is retried only within half of the time left before the
// context's deadline (not at all without a deadline), and Shutdown returns
// an error matching ErrTransmit when a batch was not delivered. Every failed
// attempt is reported to the WithErrorHandler function as a *TransmitError.
// Nothing is logged.
//
// # Concurrency and goroutines
//
// An Exporter is safe for concurrent use. New starts the library's
// goroutines (an accept loop and a throttle manager; each batch is sent from
// a goroutine of its own); Shutdown stops them, except that the library's
// accept loop stays parked forever in its throttle manager's Stop method, a
// known upstream bug (microsoft/ApplicationInsights-Go#70) that no caller
// can work around: one idle goroutine per Exporter, so create one Exporter
// per process. If Shutdown's context ends first, the library's remaining
// attempts fail at once without a request, and its retry goroutines end at
// their next wake-up. The library keeps its own wall clock for batching and
// back-off; it cannot be injected.
package appinsights
