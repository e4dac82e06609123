package httpmw

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/sli"
)

// Option configures the server middleware (New, NewHandler, Admin) and the
// client Transport (NewTransport). It is sealed: only this package's With
// functions return Options. Each option says where it applies; an option
// that does not apply to a constructor is ignored by it, so one option list
// can configure both sides.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// Defaults, applied before the options.
const (
	// DefaultBodyLimit is the largest request body the middleware lets a
	// handler read (WithBodyLimit).
	DefaultBodyLimit int64 = 1 << 20
	// DefaultSettleTimeout bounds the settlement of a reservation after the
	// handler returned (WithSettleTimeout).
	DefaultSettleTimeout = 2 * time.Second
	// maxChatRequest is the largest chat completion request body the
	// Transport reads to rewrite it.
	maxChatRequest = 64 << 20
)

type config struct {
	clock      clock.Clock
	rand       rand.Source
	recorder   *sli.Recorder
	rateCard   *sli.RateCard
	chaos      *chaos.Injector
	chaosCtrl  chaos.Controller
	chaosAdmin []chaos.AdminOption

	// server
	enforcer      *budget.Enforcer
	estimate      EstimateFunc
	downshift     string
	tenant        TenantFunc
	bodyLimit     int64
	settleTimeout time.Duration

	// transport
	limits      Limits
	retry       RetryPolicy
	deployments map[string]string // model -> Azure deployment
	models      map[string]string // Azure deployment -> model
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		clock:         clock.Real,
		bodyLimit:     DefaultBodyLimit,
		settleTimeout: DefaultSettleTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpmw: nil Option")
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithRecorder sets the sli Recorder that records task outcomes (middleware)
// and model calls, downshifts and unaccounted responses (Transport). Every
// metric httpmw records goes through it, on the MeterProvider it was
// created with (sli.WithMeterProvider); without it nothing is recorded. Its
// rate card prices usage unless WithRateCard is given. Middleware and
// Transport.
func WithRecorder(r *sli.Recorder) Option {
	return optionFunc(func(cfg *config) error {
		if r == nil {
			return errors.New("httpmw: WithRecorder(nil)")
		}
		cfg.recorder = r
		return nil
	})
}

// WithRateCard sets the rate card that prices usage (default the
// recorder's; without either, usage is counted but not priced, and each
// such response is counted by sli.MetricUnaccounted with reason
// unknown_model). Middleware (AddUsage) and Transport.
func WithRateCard(c *sli.RateCard) Option {
	return optionFunc(func(cfg *config) error {
		if c == nil {
			return errors.New("httpmw: WithRateCard(nil)")
		}
		cfg.rateCard = c
		return nil
	})
}

// WithChaos sets the chaos injector consulted at the model edge (Transport)
// and whose faults the admin mount manages (Admin). Default none.
// Middleware (Admin) and Transport.
func WithChaos(in *chaos.Injector) Option {
	return optionFunc(func(cfg *config) error {
		if in == nil {
			return errors.New("httpmw: WithChaos(nil)")
		}
		cfg.chaos = in
		return nil
	})
}

// WithClock sets the clock used for latency, retry waits and Retry-After
// dates (default the wall clock). Middleware and Transport.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) error {
		if c == nil {
			return errors.New("httpmw: WithClock(nil)")
		}
		cfg.clock = c
		return nil
	})
}

// WithRandSource sets the random source of the retry jitter (default the
// runtime's generator). src need not be safe for concurrent use: the
// Transport guards it. Transport.
func WithRandSource(src rand.Source) Option {
	return optionFunc(func(cfg *config) error {
		if src == nil {
			return errors.New("httpmw: WithRandSource(nil)")
		}
		cfg.rand = src
		return nil
	})
}

// WithTenant sets how the middleware resolves a request's tenant. Without
// it every request is accounted to the tenant "default" (and no budget can
// be enforced: New rejects WithBudget without WithTenant). Middleware.
func WithTenant(f TenantFunc) Option {
	return optionFunc(func(cfg *config) error {
		if f == nil {
			return errors.New("httpmw: WithTenant(nil)")
		}
		cfg.tenant = f
		return nil
	})
}

// WithBodyLimit caps the request body a handler can read, through
// http.MaxBytesReader (default DefaultBodyLimit; a negative n removes the
// cap). Middleware.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(cfg *config) error {
		if n == 0 {
			return errors.New("httpmw: WithBodyLimit(0)")
		}
		cfg.bodyLimit = n
		return nil
	})
}

// WithSettleTimeout bounds the settlement of a reservation once the handler
// returned (default DefaultSettleTimeout). Settlement runs on a context
// detached from the request's cancellation, so a client that hung up still
// gets its spend settled. Middleware.
func WithSettleTimeout(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return fmt.Errorf("httpmw: WithSettleTimeout(%v): must be positive", d)
		}
		cfg.settleTimeout = d
		return nil
	})
}

// WithTaskLimits sets the per-task limits the Transport enforces (default
// none). Transport.
func WithTaskLimits(l Limits) Option {
	return optionFunc(func(cfg *config) error {
		if l.MaxCalls < 0 || l.MaxTokens < 0 || l.MaxCostMicroUSD < 0 {
			return fmt.Errorf("httpmw: WithTaskLimits(%+v): limits must not be negative", l)
		}
		cfg.limits = l
		return nil
	})
}

// WithRetry makes the Transport retry 429 and 5xx responses (default no
// retry). See RetryPolicy. Transport.
func WithRetry(p RetryPolicy) Option {
	return optionFunc(func(cfg *config) error {
		v, err := p.validate()
		if err != nil {
			return err
		}
		cfg.retry = v
		return nil
	})
}

// WithAzureDeployments maps model names to Azure OpenAI deployment names,
// for requests to /openai/deployments/{deployment}/chat/completions. On a
// downshift the Transport replaces the deployment segment of the path with
// the downshift model's deployment (or with the model name itself when the
// map has no entry for it), and it reads the model of a deployment through
// the inverse map for pricing and metrics. Transport.
func WithAzureDeployments(modelToDeployment map[string]string) Option {
	return optionFunc(func(cfg *config) error {
		dep := make(map[string]string, len(modelToDeployment))
		mod := make(map[string]string, len(modelToDeployment))
		for m, d := range modelToDeployment {
			if m == "" || d == "" {
				return fmt.Errorf("httpmw: WithAzureDeployments: empty model or deployment (%q: %q)", m, d)
			}
			if !validDeployment(d) {
				return fmt.Errorf("httpmw: WithAzureDeployments: deployment %q is not a plain path segment", d)
			}
			if prev, dup := mod[d]; dup {
				return fmt.Errorf("httpmw: WithAzureDeployments: deployment %q maps to %q and %q", d, prev, m)
			}
			dep[m], mod[d] = d, m
		}
		cfg.deployments, cfg.models = dep, mod
		return nil
	})
}

func validDeployment(d string) bool {
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return d != "" && d != "." && d != ".."
}
