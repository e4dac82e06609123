package appinsights

import (
	"fmt"
	"net/http"
	"time"
)

// Defaults applied by New; each can be changed with the Option named beside it.
const (
	// DefaultMaxBatchSize is the number of telemetry items that triggers a
	// send before DefaultMaxBatchInterval expires (WithMaxBatchSize). It is
	// the Application Insights library's own default.
	DefaultMaxBatchSize = 1024

	// DefaultMaxBatchInterval is the longest time an item waits in the
	// library's buffer before it is sent (WithMaxBatchInterval). It is the
	// Application Insights library's own default.
	DefaultMaxBatchInterval = 10 * time.Second

	// DefaultRequestTimeout bounds each HTTP request to the ingestion
	// endpoint when WithHTTPClient is not used.
	DefaultRequestTimeout = 30 * time.Second

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
	maxBatchSize     int
	maxBatchInterval time.Duration
	httpClient       *http.Client
	resourceDims     []string
	onError          func(error)
}

func defaultConfig() config {
	return config{
		maxBatchSize:     DefaultMaxBatchSize,
		maxBatchInterval: DefaultMaxBatchInterval,
		httpClient:       &http.Client{Timeout: DefaultRequestTimeout},
	}
}

func (c *config) validate() error {
	if c.maxBatchSize < 1 || c.maxBatchSize > maxBatchSizeLimit {
		return fmt.Errorf("%w: max batch size %d not in [1, %d]", ErrInvalidConfig, c.maxBatchSize, maxBatchSizeLimit)
	}
	if c.maxBatchInterval <= 0 {
		return fmt.Errorf("%w: max batch interval %v must be positive", ErrInvalidConfig, c.maxBatchInterval)
	}
	if c.httpClient == nil {
		return fmt.Errorf("%w: nil HTTP client", ErrInvalidConfig)
	}
	for _, k := range c.resourceDims {
		if k == "" {
			return fmt.Errorf("%w: empty resource dimension key", ErrInvalidConfig)
		}
	}
	return nil
}

// WithMaxBatchSize sets how many telemetry items the library buffers before
// it sends them without waiting for the batch interval. Default
// DefaultMaxBatchSize; must be in [1, 100000].
func WithMaxBatchSize(n int) Option {
	return optionFunc(func(c *config) { c.maxBatchSize = n })
}

// WithMaxBatchInterval sets the longest time a telemetry item waits in the
// library's buffer before it is sent. Default DefaultMaxBatchInterval; must
// be positive. A PeriodicReader's interval (60 s by default) usually
// dominates the end-to-end delay.
func WithMaxBatchInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxBatchInterval = d })
}

// WithHTTPClient sets the HTTP client used to reach the ingestion endpoint
// (for a proxy, custom TLS or a different timeout). The client is copied;
// its Transport (http.DefaultTransport when nil) is wrapped to observe
// responses. Its Timeout is kept as is, zero meaning none. Default: a client
// with DefaultRequestTimeout over http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *config) { cfg.httpClient = c })
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
// failed attempt to post a batch (non-2xx status or transport error),
// including attempts the library will retry. It is called from the
// library's sending goroutines, possibly concurrently, and must not block.
// By default failures are not reported except by Shutdown.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}
