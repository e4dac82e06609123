package appinsights

import (
	"fmt"
	"net/http"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// Defaults applied by New; each can be changed with the Option named beside it.
const (
	// DefaultMaxBatchSize is the largest number of telemetry items posted in
	// one request (WithMaxBatchSize); an Export with more items posts
	// several requests, one after the other. It is the Application Insights
	// library's own batch size.
	DefaultMaxBatchSize = 1024

	// DefaultRequestTimeout bounds each HTTP request to the ingestion
	// endpoint when WithHTTPClient is not used.
	DefaultRequestTimeout = 30 * time.Second

	// MaxRetryAfter is the longest Retry-After the Exporter waits for before
	// its single retry; a longer one (and one that ends after the context's
	// deadline) means no retry.
	MaxRetryAfter = time.Minute

	// maxBatchSizeLimit caps WithMaxBatchSize; the ingestion service rejects
	// much larger requests anyway.
	maxBatchSizeLimit = 100_000
)

// Option configures an Exporter. Options are created by the With* functions
// of this package only.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds every setting of an Exporter; defaultConfig is the only place
// defaults are set and validate the only place they are checked.
type config struct {
	maxBatchSize int
	httpClient   *http.Client
	ownClient    bool // httpClient was made by defaultConfig: Shutdown closes its connections
	resourceDims []string
	onError      func(error)
	clock        clock.Clock
}

func defaultConfig() config {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return config{
		maxBatchSize: DefaultMaxBatchSize,
		httpClient:   &http.Client{Timeout: DefaultRequestTimeout, Transport: tr},
		ownClient:    true,
		clock:        clock.Real,
	}
}

func (c *config) validate() error {
	if c.maxBatchSize < 1 || c.maxBatchSize > maxBatchSizeLimit {
		return fmt.Errorf("%w: max batch size %d not in [1, %d]", ErrInvalidConfig, c.maxBatchSize, maxBatchSizeLimit)
	}
	if c.httpClient == nil {
		return fmt.Errorf("%w: nil HTTP client", ErrInvalidConfig)
	}
	if c.clock == nil {
		return fmt.Errorf("%w: nil clock", ErrInvalidConfig)
	}
	for _, k := range c.resourceDims {
		if k == "" {
			return fmt.Errorf("%w: empty resource dimension key", ErrInvalidConfig)
		}
	}
	return nil
}

// WithMaxBatchSize sets the largest number of telemetry items posted in one
// request; an Export with more data points posts several requests in turn.
// Default DefaultMaxBatchSize; must be in [1, 100000].
func WithMaxBatchSize(n int) Option {
	return optionFunc(func(c *config) { c.maxBatchSize = n })
}

// WithHTTPClient sets the HTTP client used to reach the ingestion endpoint
// (for a proxy, custom TLS or a different timeout). Its Timeout is kept as
// is, zero meaning none; the context passed to Export bounds every request
// as well. The caller owns the client: Shutdown does not close its idle
// connections. Default: a client with DefaultRequestTimeout over a
// private clone of http.DefaultTransport, whose connections Shutdown closes.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *config) { cfg.httpClient, cfg.ownClient = c, false })
}

// WithResourceDimensions copies the named resource attributes (for example
// "deployment.environment.name", "service.version") into every item's
// customDimensions. A data point attribute with the same key wins. By
// default no resource attribute is copied; service.name, service.namespace
// and service.instance.id always map to cloud_RoleName and
// cloud_RoleInstance.
func WithResourceDimensions(keys ...string) Option {
	keys = append([]string(nil), keys...)
	return optionFunc(func(c *config) { c.resourceDims = keys })
}

// WithErrorHandler sets a function called with a *TransmitError for every
// failed attempt to post a batch (transport error, a status other than 200,
// or a 206 partial success), including an attempt that is then retried.
// It is called synchronously from Export, possibly from several goroutines
// at once when Exports overlap, and must not block. By default failures are
// reported only through Export's returned error.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}

// WithClock sets the clock used to wait for a Retry-After and to stamp data
// points that carry no time. Default clock.Real.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}
