package drill

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// Defaults applied by Run to the zero fields of a Config.
const (
	DefaultMethod           = http.MethodPost
	DefaultPath             = "/chat"
	DefaultConcurrency      = 64
	DefaultTimeout          = 30 * time.Second
	DefaultClearTimeout     = 5 * time.Second
	DefaultProgressInterval = time.Second
	DefaultMaxSamples       = 1 << 20
	// MaxTTL is the longest fault TTL the admin API accepts.
	MaxTTL = 24 * time.Hour
	// TTLMargin is added to the drill's span and request timeout when a
	// Fault has no TTL, so the fault outlives the load but not by much.
	TTLMargin = time.Minute
)

// DefaultBody is the request body sent when Config.Body is nil and the
// method is POST.
const DefaultBody = `{"prompt":"chaos drill: what is the weather in Paris today?"}`

// Mode is the kind of fault the drill asks the service to inject.
type Mode int

// Fault modes, as named by the admin API.
const (
	ModeThrottle  Mode = iota + 1 // the target answers with a throttle error carrying a Retry-After
	ModeMalformed                 // the target's payload is corrupted
	ModeOutage                    // the target is unavailable
	ModeLatency                   // the target is delayed by Fault.Latency
)

// String returns the admin API's name of the mode, or "Mode(n)" for an
// invalid value.
func (m Mode) String() string {
	switch m {
	case ModeThrottle:
		return "throttle"
	case ModeMalformed:
		return "malformed"
	case ModeOutage:
		return "outage"
	case ModeLatency:
		return "latency"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode returns the Mode named s (throttle, malformed, outage, latency).
func ParseMode(s string) (Mode, error) {
	for m := ModeThrottle; m <= ModeLatency; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown mode %q (want throttle, malformed, outage or latency)", ErrConfig, s)
}

// Fault is the fault the drill sets through POST /admin/chaos.
type Fault struct {
	// Mode is required.
	Mode Mode
	// Target is "model", "tools" or "tool:<name>". Required.
	Target string
	// Probability in [0,1] that one call at the target is faulted. Zero is
	// sent as zero (a fault that never fires); the command defaults to 1.
	Probability float64
	// TTL after which the service drops the fault by itself; at most MaxTTL.
	// Zero means the drill's span plus the request timeout plus TTLMargin.
	TTL time.Duration
	// Tenant restricts the fault to one tenant; empty means every tenant.
	Tenant string
	// Latency is the injected delay; required for ModeLatency, refused for
	// the other modes.
	Latency time.Duration
	// RetryAfter is the throttle's Retry-After; only for ModeThrottle. Zero
	// leaves the server's default (1s).
	RetryAfter time.Duration
}

func (f *Fault) validate() error {
	if f.Mode < ModeThrottle || f.Mode > ModeLatency {
		return fmt.Errorf("%w: fault mode %v is not one of throttle, malformed, outage, latency", ErrConfig, f.Mode)
	}
	if err := validateTarget(f.Target); err != nil {
		return err
	}
	if math.IsNaN(f.Probability) || f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("%w: probability %v is outside [0,1]", ErrConfig, f.Probability)
	}
	switch {
	case f.TTL < 0:
		return fmt.Errorf("%w: ttl %v is negative", ErrConfig, f.TTL)
	case f.TTL > MaxTTL:
		return fmt.Errorf("%w: ttl %v is over the maximum of %v", ErrConfig, f.TTL, MaxTTL)
	}
	switch {
	case f.Mode == ModeLatency && f.Latency <= 0:
		return fmt.Errorf("%w: mode latency needs a positive latency", ErrConfig)
	case f.Mode != ModeLatency && f.Latency != 0:
		return fmt.Errorf("%w: latency is only for mode latency, not %v", ErrConfig, f.Mode)
	}
	switch {
	case f.RetryAfter < 0:
		return fmt.Errorf("%w: retry-after %v is negative", ErrConfig, f.RetryAfter)
	case f.Mode != ModeThrottle && f.RetryAfter != 0:
		return fmt.Errorf("%w: retry-after is only for mode throttle, not %v", ErrConfig, f.Mode)
	}
	return nil
}

func validateTarget(t string) error {
	switch {
	case t == "model" || t == "tools":
		return nil
	case strings.HasPrefix(t, "tool:") && len(t) > len("tool:"):
		return nil
	case t == "":
		return fmt.Errorf("%w: fault target is required (model, tools or tool:<name>)", ErrConfig)
	}
	return fmt.Errorf("%w: unknown target %q (want model, tools or tool:<name>)", ErrConfig, t)
}

// Config describes one drill. Zero fields take the documented defaults;
// Run validates the whole Config before it sends anything.
type Config struct {
	// URL is the service's base URL (scheme and host), e.g.
	// http://127.0.0.1:8080. Required.
	URL string
	// AdminURL is the base URL of the admin API; empty means URL. The
	// endpoint is AdminURL + "/admin/chaos" unless AdminURL already ends
	// with "/admin/chaos".
	AdminURL string
	// Token is the admin API's bearer token; required when Fault is set.
	Token string
	// Fault to set for the drill; nil runs a baseline without any fault and
	// without calling the admin API.
	Fault *Fault

	// Method of the load requests; default POST.
	Method string
	// Path of the load requests, appended to URL; default /chat. It may
	// carry a query string.
	Path string
	// Body of each load request; nil means DefaultBody for POST and no
	// body otherwise.
	Body []byte
	// Header is added to every load request. Content-Type defaults to
	// application/json when there is a body. A "Host" entry sets the
	// request's Host.
	Header http.Header

	// Rate is the open-loop send rate in requests per second. Required.
	Rate float64
	// Duration of the load. Planned sends = floor(Rate × Duration).
	Duration time.Duration
	// Requests caps the planned sends; with Duration zero it alone sets
	// them. At least one of Duration and Requests must be positive.
	Requests int
	// Concurrency bounds the requests in flight; a send that is due while
	// the bound is reached is dropped and counted, never delayed. Default 64.
	Concurrency int
	// Timeout bounds each load request; default 30s.
	Timeout time.Duration
	// ClearTimeout bounds the clearing call, which runs even after the
	// context is cancelled; default 5s.
	ClearTimeout time.Duration

	// MaxSamples caps the latency samples kept; past it a uniform reservoir
	// sample is kept and Latency.Exact is false. Default 1<<20 (8 MiB).
	MaxSamples int

	// Client sends the admin and load requests; nil means a client owned by
	// Run whose transport keeps up to Concurrency idle connections.
	Client *http.Client
	// Clock paces the sends and measures time; nil means clock.Real.
	Clock clock.Clock
	// Progress, when set, receives a Snapshot every ProgressInterval during
	// the load and once more when the load ends. Calls come from one
	// goroutine at a time.
	Progress func(Snapshot)
	// ProgressInterval; default 1s.
	ProgressInterval time.Duration
}

// Validate reports the first problem of c as an error matching ErrConfig,
// exactly as Run would before sending anything.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is a validated Config with its defaults applied.
type resolved struct {
	Config
	loadURL  string
	adminURL string
	planned  int
	interval float64 // seconds between sends
	span     time.Duration
}

func (c Config) resolve() (*resolved, error) {
	r := &resolved{Config: c}
	base, err := parseBase("url", c.URL)
	if err != nil {
		return nil, err
	}
	if r.Method == "" {
		r.Method = DefaultMethod
	}
	if r.Path == "" {
		r.Path = DefaultPath
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("%w: path %q must start with /", ErrConfig, r.Path)
	}
	r.loadURL = strings.TrimRight(base, "/") + r.Path
	if _, err := url.Parse(r.loadURL); err != nil {
		return nil, fmt.Errorf("%w: path %q: %v", ErrConfig, r.Path, err)
	}
	if r.Body == nil && r.Method == http.MethodPost {
		r.Body = []byte(DefaultBody)
	}

	switch {
	case math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) || r.Rate <= 0:
		return nil, fmt.Errorf("%w: rate %v must be a positive number of requests per second", ErrConfig, r.Rate)
	case r.Duration < 0:
		return nil, fmt.Errorf("%w: duration %v is negative", ErrConfig, r.Duration)
	case r.Requests < 0:
		return nil, fmt.Errorf("%w: requests %d is negative", ErrConfig, r.Requests)
	case r.Duration == 0 && r.Requests == 0:
		return nil, fmt.Errorf("%w: set a duration or a number of requests", ErrConfig)
	case r.Concurrency < 0:
		return nil, fmt.Errorf("%w: concurrency %d is negative", ErrConfig, r.Concurrency)
	case r.Timeout < 0:
		return nil, fmt.Errorf("%w: timeout %v is negative", ErrConfig, r.Timeout)
	case r.ClearTimeout < 0:
		return nil, fmt.Errorf("%w: clear timeout %v is negative", ErrConfig, r.ClearTimeout)
	case r.MaxSamples < 0:
		return nil, fmt.Errorf("%w: max samples %d is negative", ErrConfig, r.MaxSamples)
	case r.ProgressInterval < 0:
		return nil, fmt.Errorf("%w: progress interval %v is negative", ErrConfig, r.ProgressInterval)
	}
	if r.Concurrency == 0 {
		r.Concurrency = DefaultConcurrency
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.ClearTimeout == 0 {
		r.ClearTimeout = DefaultClearTimeout
	}
	if r.MaxSamples == 0 {
		r.MaxSamples = DefaultMaxSamples
	}
	if r.ProgressInterval == 0 {
		r.ProgressInterval = DefaultProgressInterval
	}
	r.Clock = clock.Or(r.Clock)

	r.interval = 1 / r.Rate
	if r.Duration > 0 {
		n := math.Floor(r.Rate * r.Duration.Seconds())
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("%w: rate × duration = %.0f requests is too many", ErrConfig, n)
		}
		r.planned = int(n)
		if r.Requests > 0 && r.Requests < r.planned {
			r.planned = r.Requests
		}
	} else {
		r.planned = r.Requests
	}
	if r.planned == 0 {
		return nil, fmt.Errorf("%w: rate %v × duration %v plans no request", ErrConfig, r.Rate, r.Duration)
	}
	r.span = time.Duration(float64(r.planned) * r.interval * float64(time.Second))

	if r.Fault != nil {
		f := *r.Fault
		if err := f.validate(); err != nil {
			return nil, err
		}
		if f.TTL == 0 {
			f.TTL = (r.span + r.Timeout + TTLMargin).Round(time.Second)
			if f.TTL > MaxTTL {
				return nil, fmt.Errorf("%w: the drill lasts %v, longer than a fault may live (%v); set a ttl or shorten it", ErrConfig, r.span, MaxTTL)
			}
		}
		r.Fault = &f
		if r.Token == "" {
			return nil, fmt.Errorf("%w: the admin API needs a token to set a fault", ErrConfig)
		}
		adminBase := r.AdminURL
		if adminBase == "" {
			adminBase = base
		}
		if adminBase, err = parseBase("admin url", adminBase); err != nil {
			return nil, err
		}
		r.adminURL = strings.TrimRight(adminBase, "/")
		if !strings.HasSuffix(r.adminURL, AdminPath) {
			r.adminURL += AdminPath
		}
	}
	return r, nil
}

// AdminPath is where the chaos admin API lives under the admin base URL.
const AdminPath = "/admin/chaos"

func parseBase(name, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: %s is required", ErrConfig, name)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %s %q must be an absolute http(s) URL such as http://127.0.0.1:8080", ErrConfig, name, s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %s %q must not carry a query or fragment", ErrConfig, name, s)
	}
	return s, nil
}
