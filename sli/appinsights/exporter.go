package appinsights

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Exporter is an OpenTelemetry metric exporter (sdkmetric.Exporter) that
// sends every data point to Application Insights as an aggregated metric
// (customMetrics: valueSum, valueCount, valueMin, valueMax), in the
// Application Insights Go library's wire format.
//
// Export posts the points before it returns; the Exporter starts no
// goroutine and buffers nothing. Use it with a sdkmetric.PeriodicReader,
// which already batches per interval. An Exporter is safe for concurrent
// use by multiple goroutines.
type Exporter struct {
	cs       ConnectionString
	cfg      config
	endpoint string
	baseTags map[string]string // the library's default context tags
	gzips    sync.Pool         // *gzip.Writer

	// stop is cancelled when Shutdown gives up waiting; it ends the
	// requests of the Exports still in progress.
	stop    context.Context
	abandon context.CancelCauseFunc

	mu       sync.Mutex
	closed   bool
	inflight int           // Exports in progress
	idle     chan struct{} // closed when inflight drops to 0; nil while idle
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// New returns an Exporter for the given connection string (see
// ParseConnectionString). It starts no goroutine; call Shutdown to stop it
// (and, with the default HTTP client, close its connections).
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
	host, _ := os.Hostname()
	stop, abandon := context.WithCancelCause(context.Background())
	return &Exporter{
		cs:       cs,
		cfg:      cfg,
		endpoint: cs.TrackEndpoint(),
		baseTags: defaultTags(runtime.GOOS, host),
		stop:     stop,
		abandon:  abandon,
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
func (e *Exporter) Endpoint() string { return e.endpoint }

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
// posts the items to the ingestion endpoint (at most WithMaxBatchSize per
// request) before it returns; ctx bounds the whole call, retry included.
//
// A request that fails with 408, 429, 439, 500 or 503 or a transport error,
// and the items a 206 partial success rejects with one of those statuses,
// are posted once more: at once, or after the response's Retry-After when
// that is at most MaxRetryAfter and ends before ctx's deadline (otherwise
// they are not retried). Other statuses drop the request's items. Every
// failed attempt goes to the WithErrorHandler function; when items were
// finally not delivered, Export returns an error wrapping the last
// *TransmitError (matching ErrTransmit, and ctx's error when ctx ended).
//
// Points with a NaN or infinite value are skipped and reported by an error
// matching ErrNonFinite; the other points are still sent. After Shutdown,
// Export returns ErrShutdown.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.begin(); err != nil {
		return err
	}
	defer e.end()
	if rm == nil {
		return nil
	}

	b := newBatch(e.cs.InstrumentationKey, e.baseTags, rm.Resource, e.cfg.resourceDims, e.cfg.clock.Now)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			b.metric(m)
		}
	}
	var errs []error
	if lines := b.lines(); len(lines) > 0 {
		// Shutdown abandons the request when its own context ends first.
		ctx, cancel := context.WithCancelCause(ctx)
		stop := context.AfterFunc(e.stop, func() { cancel(context.Cause(e.stop)) })
		lost, last := e.deliver(ctx, lines)
		stop()
		cancel(nil)
		if lost > 0 {
			errs = append(errs, fmt.Errorf("appinsights: %d of %d item(s) not delivered: %w", lost, len(lines), last))
		}
	}
	if b.nonFinite > 0 {
		errs = append(errs, fmt.Errorf("%w: %d data point(s) skipped", ErrNonFinite, b.nonFinite))
	}
	return errors.Join(errs...)
}

// ForceFlush waits until no Export is in progress, so that everything
// exported before it was called has been delivered (or has failed), or
// until ctx ends. The Exporter buffers nothing between Exports. After
// Shutdown it returns ErrShutdown.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	closed, idle := e.closed, e.idle
	e.mu.Unlock()
	if closed {
		return ErrShutdown
	}
	return e.waitIdle(ctx, idle)
}

// Shutdown makes later Exports and ForceFlushes fail with ErrShutdown and
// waits, bounded by ctx, for the Exports in progress to finish delivering.
// When ctx ends first, it returns ctx's error and abandons those Exports:
// their requests are cancelled and they return an error matching
// ErrShutdown. With the default HTTP client it then closes the client's
// idle connections; nothing of the Exporter keeps running.
//
// Shutdown may be called more than once; each call waits for the Exports
// still in progress.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	idle := e.idle
	e.mu.Unlock()

	err := e.waitIdle(ctx, idle)
	// Ends the requests of any Export still in progress (there is none when
	// the wait succeeded, and no Export can start any more).
	e.abandon(ErrShutdown)
	if err != nil {
		err = fmt.Errorf("appinsights: shutdown: %w", err)
	}
	if e.cfg.ownClient {
		e.cfg.httpClient.CloseIdleConnections()
	}
	return err
}

func (e *Exporter) waitIdle(ctx context.Context, idle <-chan struct{}) error {
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// begin registers an Export in progress, unless the Exporter is shut down.
func (e *Exporter) begin() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrShutdown
	}
	if e.inflight == 0 {
		e.idle = make(chan struct{})
	}
	e.inflight++
	return nil
}

func (e *Exporter) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight--
	if e.inflight == 0 {
		close(e.idle)
		e.idle = nil
	}
}
