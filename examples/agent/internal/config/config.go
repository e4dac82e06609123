package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/internal/strictjson"
	"github.com/llmops-go/llmops/sli/appinsights"
)

// ErrConfig is matched by every error Load returns.
var ErrConfig = errors.New("config")

// Defaults.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultPrimaryModel   = "gpt-4o"
	DefaultDownshiftModel = "gpt-4o-mini"
	DefaultBudgetUSD      = 10.0
	DefaultEstimateUSD    = 0.02
	DefaultDownshiftAt    = 80.0
	DefaultTenant         = "default"
	DefaultMalformedRate  = 0.05
	DefaultMaxTurns       = 4
	// MaxBudgetFileBytes bounds the budget file.
	MaxBudgetFileBytes = 1 << 20
)

// Environment variables read by Load.
const (
	EnvAddr          = "LLMOPS_ADDR"
	EnvInstanceID    = "LLMOPS_INSTANCE_ID"
	EnvAdminToken    = "LLMOPS_ADMIN_TOKEN"
	EnvLLMBaseURL    = "LLM_BASE_URL"
	EnvLLMAPIKey     = "LLM_API_KEY"
	EnvLLMModel      = "LLM_MODEL"
	EnvRedisURL      = "REDIS_URL"
	EnvAppInsights   = appinsights.EnvConnectionString
	EnvOTLPEndpoint  = "OTEL_EXPORTER_OTLP_ENDPOINT"
	adminTokenLength = 32 // random bytes of a generated token
)

// Budgets is the per-tenant spend configuration.
type Budgets struct {
	// Period is "month", "week", "day" or a Go duration such as "1h".
	Period string
	// DefaultMicroUSD is the limit of every tenant without an override.
	DefaultMicroUSD int64
	// Tenants are per-tenant limits in micro-USD.
	Tenants map[string]int64
	// DownshiftAtPercent is the downshift threshold, in percent of the limit.
	DownshiftAtPercent float64
	// EstimateMicroUSD is what each request reserves before it runs.
	EstimateMicroUSD int64
}

// PeriodValue returns the budget.Period the Period string names.
func (b Budgets) PeriodValue() (budget.Period, error) {
	switch b.Period {
	case "", "month":
		return budget.Monthly(), nil
	case "week":
		return budget.Weekly(), nil
	case "day":
		return budget.Daily(), nil
	}
	d, err := time.ParseDuration(b.Period)
	if err != nil || d < time.Second {
		return budget.Period{}, fmt.Errorf("%w: budget period %q: want month, week, day or a duration of at least 1s", ErrConfig, b.Period)
	}
	return budget.Every(d), nil
}

// Sim configures the simulated model.
type Sim struct {
	Seed          uint64
	MalformedRate float64
	Latency       time.Duration
}

// Config is the whole configuration of the agent service.
type Config struct {
	Addr       string
	InstanceID string

	// LLMBaseURL is an OpenAI-compatible endpoint; empty runs the simulated
	// model in-process.
	LLMBaseURL string
	LLMAPIKey  string
	// PrimaryModel is used on Allow, DownshiftModel on Downshift.
	PrimaryModel, DownshiftModel string
	// Stream makes the agent stream model answers (SSE).
	Stream bool
	// MaxTurns bounds the model calls of the agent loop per request.
	MaxTurns int
	Sim      Sim

	Budgets Budgets
	// TenantHeader is the header the tenant is read from (development
	// resolver); DefaultTenant is used when it is absent ("" requires it).
	TenantHeader, DefaultTenant string

	RedisURL string
	// AppInsightsConnectionString enables the Application Insights exporter.
	AppInsightsConnectionString string
	// OTLPEndpoint enables the OTLP/HTTP metric exporter.
	OTLPEndpoint string
	// RateCardFile is a JSON rate card replacing the built-in one.
	RateCardFile string

	// AdminToken protects /admin/chaos. TokenGenerated reports that it was
	// generated because LLMOPS_ADMIN_TOKEN was unset.
	AdminToken     string
	TokenGenerated bool
	// ChaosSeed makes the chaos injector reproducible (0: random).
	ChaosSeed uint64
}

// Default returns the configuration used with no flag and no environment,
// except the admin token, which Load generates.
func Default() Config {
	return Config{
		Addr:           DefaultAddr,
		PrimaryModel:   DefaultPrimaryModel,
		DownshiftModel: DefaultDownshiftModel,
		Stream:         true,
		MaxTurns:       DefaultMaxTurns,
		Sim:            Sim{Seed: 1, MalformedRate: DefaultMalformedRate},
		Budgets: Budgets{
			Period:             "month",
			DefaultMicroUSD:    usd(DefaultBudgetUSD),
			Tenants:            map[string]int64{},
			DownshiftAtPercent: DefaultDownshiftAt,
			EstimateMicroUSD:   usd(DefaultEstimateUSD),
		},
		TenantHeader:  httpmw.DefaultTenantHeader,
		DefaultTenant: DefaultTenant,
	}
}

func usd(v float64) int64 {
	m, _ := budget.FromUSD(v)
	return m
}

// Load parses args (without the program name) and the environment read
// through getenv (os.Getenv when nil). Usage text goes to usage (io.Discard
// when nil); -h returns flag.ErrHelp.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if usage == nil {
		usage = io.Discard
	}
	c := Default()
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&c.Addr, "addr", env(EnvAddr, c.Addr), "listen address (env "+EnvAddr+")")
	fs.StringVar(&c.InstanceID, "instance", env(EnvInstanceID, ""), "instance id for X-Instance-ID (env "+EnvInstanceID+"; default random)")
	fs.StringVar(&c.LLMBaseURL, "llm-base-url", env(EnvLLMBaseURL, ""), "OpenAI-compatible base URL; empty runs the simulated model (env "+EnvLLMBaseURL+")")
	fs.StringVar(&c.LLMAPIKey, "llm-api-key", env(EnvLLMAPIKey, ""), "API key of the endpoint (env "+EnvLLMAPIKey+")")
	fs.StringVar(&c.PrimaryModel, "model", env(EnvLLMModel, c.PrimaryModel), "primary model (env "+EnvLLMModel+")")
	fs.StringVar(&c.DownshiftModel, "downshift-model", c.DownshiftModel, "cheaper model used past the downshift threshold")
	fs.BoolVar(&c.Stream, "stream", c.Stream, "stream model answers (SSE)")
	fs.IntVar(&c.MaxTurns, "max-turns", c.MaxTurns, "model calls per request, at most")
	fs.Uint64Var(&c.Sim.Seed, "sim-seed", c.Sim.Seed, "seed of the simulated model")
	fs.Float64Var(&c.Sim.MalformedRate, "sim-malformed", c.Sim.MalformedRate, "share of the simulated model's tool calls with malformed arguments")
	fs.DurationVar(&c.Sim.Latency, "sim-latency", c.Sim.Latency, "latency of the simulated model")
	fs.StringVar(&c.RedisURL, "redis-url", env(EnvRedisURL, ""), "Redis URL for budgets and fleet-wide chaos (env "+EnvRedisURL+")")
	fs.StringVar(&c.RateCardFile, "rate-card", "", "JSON rate card file (default: the built-in card)")
	fs.StringVar(&c.TenantHeader, "tenant-header", c.TenantHeader, "header carrying the tenant id (development resolver)")
	fs.StringVar(&c.DefaultTenant, "default-tenant", c.DefaultTenant, "tenant of requests without the header; empty requires it")
	fs.Uint64Var(&c.ChaosSeed, "chaos-seed", 0, "seed of the chaos injector (0: random)")
	budgetFile := fs.String("budget-file", "", "JSON budget file")
	defaultUSD := fs.Float64("budget-default", DefaultBudgetUSD, "budget per tenant and period, USD")
	estimateUSD := fs.Float64("budget-estimate", DefaultEstimateUSD, "amount reserved per request, USD")
	downshiftAt := fs.Float64("budget-downshift-at", DefaultDownshiftAt, "downshift threshold, percent of the budget")
	period := fs.String("budget-period", "month", "budget period: month, week, day or a duration")
	tenants := tenantFlag{}
	fs.Var(&tenants, "budget", "tenant=USD budget override (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, firstLine(err.Error()))
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrConfig, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if *budgetFile != "" {
		if err := c.Budgets.loadFile(*budgetFile); err != nil {
			return Config{}, err
		}
	}
	var err error
	if set["budget-default"] || *budgetFile == "" {
		if c.Budgets.DefaultMicroUSD, err = amount("budget-default", *defaultUSD); err != nil {
			return Config{}, err
		}
	}
	if set["budget-estimate"] || *budgetFile == "" {
		if c.Budgets.EstimateMicroUSD, err = amount("budget-estimate", *estimateUSD); err != nil {
			return Config{}, err
		}
	}
	if set["budget-downshift-at"] || *budgetFile == "" {
		c.Budgets.DownshiftAtPercent = *downshiftAt
	}
	if set["budget-period"] || *budgetFile == "" {
		c.Budgets.Period = *period
	}
	for t, v := range tenants {
		c.Budgets.Tenants[t] = v
	}

	c.AppInsightsConnectionString = env(EnvAppInsights, "")
	c.OTLPEndpoint = env(EnvOTLPEndpoint, "")
	c.AdminToken = env(EnvAdminToken, "")
	if c.AdminToken == "" {
		b := make([]byte, adminTokenLength)
		_, _ = rand.Read(b)
		c.AdminToken, c.TokenGenerated = hex.EncodeToString(b), true
	}
	if c.InstanceID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.InstanceID = "agent-" + hex.EncodeToString(b)
	}
	return c, c.Validate()
}

// Validate checks the configuration's syntax and ranges.
func (c Config) Validate() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.Addr == "" {
		return fail("empty listen address")
	}
	if c.LLMBaseURL != "" {
		if err := httpURL(c.LLMBaseURL); err != nil {
			return fail("%s: %v", EnvLLMBaseURL, err)
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			return fail("%s: want redis://host:port/db, rediss:// or unix://", EnvRedisURL)
		}
	}
	if c.OTLPEndpoint != "" {
		if err := httpURL(c.OTLPEndpoint); err != nil {
			return fail("%s: %v", EnvOTLPEndpoint, err)
		}
	}
	if c.AppInsightsConnectionString != "" {
		if _, err := appinsights.ParseConnectionString(c.AppInsightsConnectionString); err != nil {
			return fail("%s: %v", EnvAppInsights, err)
		}
	}
	if c.PrimaryModel == "" || c.DownshiftModel == "" {
		return fail("the primary and downshift models must be named")
	}
	if c.MaxTurns < 1 || c.MaxTurns > 32 {
		return fail("max turns %d not in [1,32]", c.MaxTurns)
	}
	if !(c.Sim.MalformedRate >= 0 && c.Sim.MalformedRate <= 1) {
		return fail("sim malformed rate %v not in [0,1]", c.Sim.MalformedRate)
	}
	if c.Sim.Latency < 0 || c.Sim.Latency > time.Minute {
		return fail("sim latency %v not in [0,1m]", c.Sim.Latency)
	}
	if len(c.AdminToken) < 16 {
		return fail("%s must be at least 16 characters", EnvAdminToken)
	}
	if c.DefaultTenant != "" {
		if err := httpmw.ValidTenant(c.DefaultTenant); err != nil {
			return fail("default tenant: %v", err)
		}
	}
	b := c.Budgets
	if _, err := b.PeriodValue(); err != nil {
		return err
	}
	if !(b.DownshiftAtPercent > 0 && b.DownshiftAtPercent <= 100) {
		return fail("budget downshift threshold %v%% not in (0,100]", b.DownshiftAtPercent)
	}
	if b.EstimateMicroUSD <= 0 {
		return fail("budget estimate must be positive")
	}
	for t := range b.Tenants {
		if err := httpmw.ValidTenant(t); err != nil {
			return fail("budget tenant %q: %v", t, err)
		}
	}
	return nil
}

// TenantIDs returns the tenants with a budget override, sorted.
func (b Budgets) TenantIDs() []string {
	out := make([]string, 0, len(b.Tenants))
	for t := range b.Tenants {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// budgetFile is the JSON budget file.
type budgetFile struct {
	Period             *string            `json:"period"`
	DefaultUSD         *float64           `json:"default_usd"`
	DownshiftAtPercent *float64           `json:"downshift_at_percent"`
	EstimateUSD        *float64           `json:"estimate_usd"`
	Tenants            map[string]float64 `json:"tenants"`
}

// budgetField reports whether k is one of budgetFile's JSON names, exactly.
func budgetField(k string) bool {
	switch k {
	case "period", "default_usd", "downshift_at_percent", "estimate_usd", "tenants":
		return true
	}
	return false
}

// loadFile applies the budget file at path: strict JSON (see
// strictjson.Check; no null anywhere), at most MaxBudgetFileBytes, every
// amount a valid budget.FromUSD amount.
func (b *Budgets) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: budget file: %v", ErrConfig, errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBudgetFileBytes+1))
	if err != nil {
		return fmt.Errorf("%w: budget file %s: %v", ErrConfig, path, err)
	}
	if len(data) > MaxBudgetFileBytes {
		return fmt.Errorf("%w: budget file %s: larger than %d bytes", ErrConfig, path, MaxBudgetFileBytes)
	}
	// Strict JSON: encoding/json alone would take "Default_USD" for
	// default_usd, keep the last of two "acme" tenants, read a null tenant
	// budget as 0 and (through json.Decoder) ignore a stray "}" after the
	// object.
	var bf budgetFile
	if err := strictjson.Decode(data, budgetField, &bf); err != nil {
		return fmt.Errorf("%w: budget file %s: %v", ErrConfig, path, err)
	}
	if bf.Period != nil {
		b.Period = *bf.Period
	}
	if bf.DefaultUSD != nil {
		if b.DefaultMicroUSD, err = amount("default_usd", *bf.DefaultUSD); err != nil {
			return fmt.Errorf("budget file %s: %w", path, err)
		}
	}
	if bf.EstimateUSD != nil {
		if b.EstimateMicroUSD, err = amount("estimate_usd", *bf.EstimateUSD); err != nil {
			return fmt.Errorf("budget file %s: %w", path, err)
		}
	}
	if bf.DownshiftAtPercent != nil {
		b.DownshiftAtPercent = *bf.DownshiftAtPercent
	}
	for t, v := range bf.Tenants {
		m, err := amount("tenant "+t, v)
		if err != nil {
			return fmt.Errorf("budget file %s: %w", path, err)
		}
		b.Tenants[t] = m
	}
	return nil
}

func amount(what string, v float64) (int64, error) {
	m, err := budget.FromUSD(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v USD is not a valid amount", ErrConfig, what, v)
	}
	return m, nil
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// tenantFlag collects -budget tenant=USD flags.
type tenantFlag map[string]int64

func (f tenantFlag) String() string { return fmt.Sprint(map[string]int64(f)) }

func (f tenantFlag) Set(s string) error {
	t, v, ok := strings.Cut(s, "=")
	if !ok || t == "" {
		return errors.New("want tenant=USD")
	}
	usdv, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("tenant %s: %q is not a number", t, v)
	}
	m, err := budget.FromUSD(usdv)
	if err != nil {
		return fmt.Errorf("tenant %s: %v USD is not a valid amount", t, usdv)
	}
	f[t] = m
	return nil
}
