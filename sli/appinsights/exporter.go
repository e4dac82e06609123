package appinsights

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	aisdk "github.com/microsoft/ApplicationInsights-Go/appinsights"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmops-go/llmops/internal/clock"
)

// Exporter is an OpenTelemetry metric exporter (sdkmetric.Exporter) that
// sends every data point to Application Insights as an aggregated metric
// (customMetrics: valueSum, valueCount, valueMin, valueMax) through the
// Application Insights Go library's in-memory channel.
//
// Use it with a sdkmetric.PeriodicReader. An Exporter is safe for concurrent
// use by multiple goroutines; it must be shut down (directly or through the
// reader or MeterProvider) to stop the library's goroutine and flush.
type Exporter struct {
	cs        ConnectionString
	cfg       config
	client    aisdk.TelemetryClient
	transport *transport
	clock     clock.Clock

	mu     sync.RWMutex
	closed bool
	done   <-chan struct{} // closed by the library when Close has finished
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// New returns an Exporter for the given connection string (see
// ParseConnectionString). It starts the Application Insights library's
// sending goroutine; call Shutdown to stop it.
func New(connectionString string, opts ...Option) (*Exporter, error) {
	cs, err := ParseConnectionString(connectionString)
	if err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	tr := newTransport(cfg.httpClient.Transport, cfg.onError)
	hc := *cfg.httpClient
	hc.Transport = tr

	aicfg := aisdk.NewTelemetryConfiguration(cs.InstrumentationKey)
	aicfg.EndpointUrl = cs.TrackEndpoint()
	aicfg.MaxBatchSize = cfg.maxBatchSize
	aicfg.MaxBatchInterval = cfg.maxBatchInterval
	aicfg.Client = &hc

	return &Exporter{
		cs:        cs,
		cfg:       cfg,
		client:    aisdk.NewTelemetryClientFromConfig(aicfg),
		transport: tr,
		clock:     clock.Real,
	}, nil
}

// NewFromEnv is New with the connection string read from the
// APPLICATIONINSIGHTS_CONNECTION_STRING environment variable. It returns an
// error matching ErrNoConnectionString when the variable is unset or blank.
func NewFromEnv(opts ...Option) (*Exporter, error) {
	s := os.Getenv(EnvConnectionString)
	if strings.TrimSpace(s) == "" {
		return nil, ErrNoConnectionString
	}
	return New(s, opts...)
}

// ConnectionString returns the parsed connection string the Exporter was
// built from (its String method redacts the key).
func (e *Exporter) ConnectionString() ConnectionString { return e.cs }

// Endpoint returns the URL telemetry is posted to.
func (e *Exporter) Endpoint() string { return e.cs.TrackEndpoint() }

// Temporality returns Cumulative for up-down counters (synchronous and
// observable), whose meaningful value is the current level, and Delta for
// every other kind, so that a counter's customMetrics value is the increase
// during the interval and a histogram's count/sum/min/max cover the interval.
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindObservableUpDownCounter:
		return metricdata.CumulativeTemporality
	default:
		return metricdata.DeltaTemporality
	}
}

// Aggregation returns the SDK default aggregation, except for histograms:
// customMetrics keeps only sum, count, min and max, so histograms are
// aggregated with a single bucket (no boundaries) and min/max recorded.
// Boundaries advised by an instrument or set by a View still take precedence.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if k == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationExplicitBucketHistogram{}
	}
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export converts every data point of rm into one aggregated metric item and
// hands it to the library's buffer, which sends it within the batch interval
// (or sooner when the batch is full). Export does not wait for the HTTP
// request. Points with a NaN or infinite value are skipped and reported by
// an error matching ErrNonFinite; the other points are still sent. After
// Shutdown it returns ErrShutdown.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrShutdown
	}
	if rm == nil {
		return nil
	}
	b := newBatch(rm.Resource, e.cfg.resourceDims)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if err := ctx.Err(); err != nil {
				return err
			}
			b.metric(m, e.client.Track)
		}
	}
	if b.nonFinite > 0 {
		return fmt.Errorf("%w: %d data point(s) skipped", ErrNonFinite, b.nonFinite)
	}
	return nil
}

// ForceFlush asks the library to send everything it has buffered now. It
// does not wait for the HTTP requests to complete (the library offers no
// acknowledgement; Shutdown does wait). After Shutdown it returns
// ErrShutdown.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrShutdown
	}
	e.client.Channel().Flush()
	return nil
}

// Shutdown flushes everything buffered, stops the library's goroutines and
// waits until every pending batch has been sent or ctx ends.
//
// When ctx has a deadline, a batch that fails during shutdown is retried by
// the library (its back-off is 10 s, 30 s, 60 s) within half of the time
// left, with a last attempt when that half has passed; without a deadline
// nothing is retried. Shutdown returns an error matching ErrTransmit when a batch was still not
// delivered, and ctx's error when ctx ended first; in that case the
// library's remaining attempts fail at once without a request (its retry
// goroutines end at their next wake-up, at most about 100 s later).
//
// The library's goroutines end, except its accept loop, which stays parked
// for good (upstream bug microsoft/ApplicationInsights-Go#70; see the
// package documentation).
//
// Export and ForceFlush fail with ErrShutdown once Shutdown has been called.
// Calling Shutdown again waits for the same completion.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		e.transport.startTracking()
		ch := e.client.Channel()
		var window time.Duration
		if deadline, ok := ctx.Deadline(); ok {
			window = deadline.Sub(e.clock.Now()) / 2
		}
		if window >= time.Millisecond {
			// A non-zero timeout makes the library retry a failed batch on
			// its back-off schedule for at most that long, then once more;
			// the other half of the time is left for that last attempt. (A
			// zero timeout would mean its full, 100 s schedule.)
			e.done = ch.Close(window)
		} else {
			// No timeout argument: the library does not retry.
			e.done = ch.Close()
		}
	}
	done := e.done
	e.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		e.transport.abandon()
		return fmt.Errorf("appinsights: shutdown: %w", context.Cause(ctx))
	}
	if n, last := e.transport.result(); n > 0 {
		return fmt.Errorf("appinsights: shutdown: %d batch(es) not delivered: %w", n, last)
	}
	return nil
}
