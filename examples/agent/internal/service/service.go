package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/redisstore"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/chaos/redissync"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/examples/agent/internal/simmodel"
	"github.com/llmops-go/llmops/examples/agent/internal/tools"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/internal/strictjson"
	"github.com/llmops-go/llmops/repair"
	"github.com/llmops-go/llmops/sli"
)

// Version is the service's version, reported by /health.
const Version = "0.1.0"

// Response headers the service sets (besides httpmw's X-Budget-Decision).
const (
	HeaderInstance  = "X-Instance-ID"
	HeaderModel     = "X-Agent-Model"
	HeaderFallbacks = "X-Agent-Fallbacks"
	HeaderRepairs   = "X-Agent-Repairs"
)

// Defaults of the agent loop's limits.
const (
	// MaxModelCallsPerTask caps the model calls of one request, retries and
	// repairs included (httpmw task limits).
	MaxModelCallsPerTask = 24
	// modelDecodeRetries is how many times an unreadable model answer is
	// asked again.
	modelDecodeRetries = 2
	redisStartTimeout  = 3 * time.Second
)

// Option configures New. It is sealed: only this package's With functions
// return Options.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	clock clock.Clock
}

// WithClock sets the clock of the budget periods, chaos TTLs, latencies and
// the simulated model (default clock.Real). Tests pass a fake clock.
func WithClock(c clock.Clock) Option { return optionFunc(func(o *options) { o.clock = c }) }

// Service is the example agent service. It is safe for concurrent use by
// multiple goroutines; Close releases what New started.
type Service struct {
	cfg     config.Config
	clock   clock.Clock
	started time.Time

	tel      *telemetry
	rec      *sli.Recorder
	card     *sli.RateCard
	enforcer *budget.Enforcer
	injector *chaos.Injector
	chaosCtl chaos.Controller
	sync     *redissync.Sync
	redis    *redis.Client
	tools    *tools.Set
	registry *repair.Registry
	loop     *repair.Loop
	sim      *simmodel.Server
	llm      openai.Client
	llmURL   string
	handler  http.Handler
}

// New builds the service from cfg: telemetry, rate card, budgets, chaos,
// tools, the model (simulated unless cfg.LLMBaseURL is set) and the HTTP
// routes. On error everything started so far is released.
func New(cfg config.Config, opts ...Option) (_ *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{}
	for _, opt := range opts {
		opt.apply(&o)
	}
	s := &Service{cfg: cfg, clock: clock.Or(o.clock)}
	s.started = s.clock.Now()
	defer func() {
		if err != nil {
			_ = s.Close(context.Background())
		}
	}()

	if s.tel, err = newTelemetry(cfg, Version); err != nil {
		return nil, err
	}
	if err := s.initRateCard(); err != nil {
		return nil, err
	}
	if s.rec, err = sli.New(sli.WithMeterProvider(s.tel.provider), sli.WithRateCard(s.card)); err != nil {
		return nil, err
	}
	if err := s.initRedis(); err != nil {
		return nil, err
	}
	if err := s.initBudget(); err != nil {
		return nil, err
	}
	if err := s.initChaos(); err != nil {
		return nil, err
	}
	if s.tools, err = tools.New(tools.WithClock(s.clock), tools.WithObserver(toolObserver{s.rec})); err != nil {
		return nil, err
	}
	if err := s.initModel(); err != nil {
		return nil, err
	}
	if s.registry, err = tools.Registry(); err != nil {
		return nil, err
	}
	repairer, err := repair.NewModelRepairer(repairModel{s})
	if err != nil {
		return nil, err
	}
	if s.loop, err = repair.New(s.registry, repair.WithRepairer(repairer), repair.WithClock(s.clock),
		repair.WithObserver(repairObserver{s.rec})); err != nil {
		return nil, err
	}
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) initRateCard() error {
	var err error
	if s.cfg.RateCardFile != "" {
		s.card, err = sli.LoadRateCardFile(s.cfg.RateCardFile)
	} else {
		s.card, err = sli.DefaultRateCard()
	}
	if err != nil {
		return fmt.Errorf("rate card: %w", err)
	}
	for _, m := range []string{s.cfg.PrimaryModel, s.cfg.DownshiftModel} {
		if _, _, ok := s.card.Lookup(m); !ok {
			return fmt.Errorf("rate card %s: unknown model %q (price it in a -rate-card file)", s.card.Version(), m)
		}
	}
	return nil
}

func (s *Service) initRedis() error {
	if s.cfg.RedisURL == "" {
		return nil
	}
	ro, err := redis.ParseURL(s.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("%s: %w", config.EnvRedisURL, err)
	}
	s.redis = redis.NewClient(ro)
	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	if err := s.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", ro.Addr, err)
	}
	return nil
}

func (s *Service) initBudget() error {
	b := s.cfg.Budgets
	period, err := b.PeriodValue()
	if err != nil {
		return err
	}
	var store budget.Store = budget.NewMemory()
	if s.redis != nil {
		if store, err = redisstore.New(s.redis); err != nil {
			return err
		}
	}
	opts := []budget.Option{
		budget.WithDefaultLimit(b.DefaultMicroUSD), budget.WithDownshiftAt(b.DownshiftAtPercent),
		budget.WithPeriod(period), budget.WithClock(s.clock), budget.WithObserver(httpmw.BudgetObserver(s.rec)),
	}
	for _, t := range b.TenantIDs() {
		opts = append(opts, budget.WithTenantLimit(t, b.Tenants[t]))
	}
	s.enforcer, err = budget.New(store, opts...)
	return err
}

func (s *Service) initChaos() error {
	opts := []chaos.Option{chaos.WithClock(s.clock), chaos.WithObserver(httpmw.ChaosObserver(s.rec))}
	if s.cfg.ChaosSeed != 0 {
		opts = append(opts, chaos.WithSeed(s.cfg.ChaosSeed))
	}
	var err error
	if s.injector, err = chaos.New(opts...); err != nil {
		return err
	}
	s.chaosCtl = s.injector
	if s.redis != nil {
		ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
		defer cancel()
		if s.sync, err = redissync.New(ctx, s.redis, s.injector); err != nil {
			return err
		}
		s.chaosCtl = s.sync
	}
	return nil
}

func (s *Service) initModel() error {
	base, key := s.cfg.LLMBaseURL, s.cfg.LLMAPIKey
	if base == "" {
		var err error
		s.sim, err = simmodel.New(simmodel.WithSeed(s.cfg.Sim.Seed), simmodel.WithMalformedRate(s.cfg.Sim.MalformedRate),
			simmodel.WithLatency(s.cfg.Sim.Latency), simmodel.WithClock(s.clock))
		if err != nil {
			return err
		}
		if base, err = s.sim.Start(); err != nil {
			return err
		}
		key = "simulated"
	}
	s.llmURL = base
	tr, err := httpmw.NewTransport(nil,
		httpmw.WithRecorder(s.rec), httpmw.WithChaos(s.injector), httpmw.WithClock(s.clock),
		httpmw.WithTaskLimits(httpmw.Limits{MaxCalls: MaxModelCallsPerTask}),
		httpmw.WithRetry(httpmw.RetryPolicy{MaxAttempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 4 * time.Second}))
	if err != nil {
		return err
	}
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithHTTPClient(&http.Client{Transport: tr}),
		option.WithMaxRetries(0), // the httpmw Transport retries
	}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	s.llm = openai.NewClient(opts...)
	return nil
}

// tenantResolver reads the tenant from the configured header, defaulting to
// the configured tenant when the header is absent.
func (s *Service) tenantResolver() httpmw.TenantFunc {
	header := httpmw.HeaderTenant(s.cfg.TenantHeader)
	def := s.cfg.DefaultTenant
	return func(r *http.Request) (string, error) {
		t, err := header(r)
		if errors.Is(err, httpmw.ErrTenantMissing) && def != "" {
			return def, nil
		}
		return t, err
	}
}

func (s *Service) routes() (http.Handler, error) {
	estimate := httpmw.FixedEstimate(s.cfg.Budgets.EstimateMicroUSD)
	mw, err := httpmw.New(
		httpmw.WithTenant(s.tenantResolver()),
		httpmw.WithBudget(s.enforcer, estimate),
		httpmw.WithDownshiftModel(s.cfg.DownshiftModel),
		httpmw.WithRecorder(s.rec),
		httpmw.WithClock(s.clock),
		httpmw.WithBodyLimit(64<<10),
	)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /chat", mw(http.HandlerFunc(s.serveChat)))
	mux.HandleFunc("GET /health", s.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.tel.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", s.serveStatus)
	adminOpts := []httpmw.Option{httpmw.WithChaos(s.injector), httpmw.WithBudget(s.enforcer, estimate)}
	if s.sync != nil {
		adminOpts = append(adminOpts, httpmw.WithChaosController(s.sync))
	}
	if err := httpmw.MountAdmin(mux, s.cfg.AdminToken, adminOpts...); err != nil {
		return nil, err
	}
	id := s.cfg.InstanceID
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderInstance, id)
		mux.ServeHTTP(w, r)
	}), nil
}

// Handler returns the service's routes.
func (s *Service) Handler() http.Handler { return s.handler }

// Config returns the configuration the service runs with.
func (s *Service) Config() config.Config { return s.cfg }

// ModelURL returns the base URL of the model endpoint (the simulated
// model's loopback URL by default).
func (s *Service) ModelURL() string { return s.llmURL }

// ReconcileChaos loads the fleet's chaos faults from Redis and applies them
// now, instead of at the next notification or reconcile tick. Without Redis
// it does nothing.
func (s *Service) ReconcileChaos(ctx context.Context) error {
	if s.sync == nil {
		return nil
	}
	return s.sync.Reconcile(ctx)
}

// Close stops the simulated model, the chaos sync and Redis, and flushes
// the metric exporters. Serve no request after Close.
func (s *Service) Close(ctx context.Context) error {
	var errs []error
	if s.sim != nil {
		errs = append(errs, s.sim.Close(ctx))
	}
	if s.sync != nil {
		errs = append(errs, s.sync.Close())
	}
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
	}
	errs = append(errs, s.tel.shutdown(ctx))
	return errors.Join(errs...)
}

// chatRequest is the body of POST /chat.
type chatRequest struct {
	Prompt string `json:"prompt"`
}

// maxPromptBytes bounds the prompt.
const maxPromptBytes = 8 << 10

// maxChatBodyBytes bounds the POST /chat body decodeChat reads: room for a
// prompt of maxPromptBytes even when every byte of it is written as a six-
// byte \u escape.
const maxChatBodyBytes = 64 << 10

// Errors of decodeChat; their texts are the messages of the 400 responses.
var (
	errChatBody   = errors.New(`the body must be one JSON object {"prompt": "..."}`)
	errPromptSize = errors.New("prompt must be 1 to " + strconv.Itoa(maxPromptBytes) + " bytes")
)

// decodeChat strictly decodes a POST /chat body: at most maxChatBodyBytes
// of valid UTF-8 holding exactly one JSON object, with only white space
// around it, whose only key is "prompt" (exactly that spelling, once) and
// whose value is a string. encoding/json alone would accept "PROMPT", keep
// the last of duplicate keys and ignore a null. The error matches
// errChatBody, or errPromptSize when the body is well formed but the
// prompt is missing, empty or longer than maxPromptBytes once unescaped.
func decodeChat(r io.Reader) (chatRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxChatBodyBytes+1))
	if err != nil {
		return chatRequest{}, fmt.Errorf("%w: reading: %v", errChatBody, err)
	}
	if len(data) > maxChatBodyBytes {
		return chatRequest{}, fmt.Errorf("%w: larger than %d bytes", errChatBody, maxChatBodyBytes)
	}
	var req chatRequest
	if err := strictjson.Decode(data, func(k string) bool { return k == "prompt" }, &req); err != nil {
		return chatRequest{}, fmt.Errorf("%w: %v", errChatBody, err)
	}
	if req.Prompt == "" || len(req.Prompt) > maxPromptBytes {
		return chatRequest{}, errPromptSize
	}
	return req, nil
}

func (s *Service) serveChat(w http.ResponseWriter, r *http.Request) {
	req, err := decodeChat(r.Body)
	if err != nil {
		msg := errChatBody.Error()
		if errors.Is(err, errPromptSize) {
			msg = errPromptSize.Error()
		}
		httpmw.MarkFailed(r.Context(), "bad_request")
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	ctx := r.Context()
	task := httpmw.TaskFrom(ctx)
	res := s.run(ctx, task.Tenant(), req.Prompt)

	resp := chatResponse{
		Answer:     res.answer,
		Model:      res.model,
		Tenant:     task.Tenant(),
		InstanceID: s.cfg.InstanceID,
		ToolCalls:  res.calls,
		Retries:    res.retries,
	}
	u := task.Usage()
	resp.Usage = usageJSON{InputTokens: u.InputTokens, CachedInputTokens: u.CachedInputTokens, OutputTokens: u.OutputTokens}
	resp.CostUSD = float64(task.CostMicroUSD()) / 1e6
	if d := task.Decision(); d != 0 {
		resp.BudgetDecision = d.String()
	}
	h := w.Header()
	h.Set(HeaderModel, res.model)
	h.Set(HeaderFallbacks, strconv.Itoa(res.fallbacks()))
	h.Set(HeaderRepairs, strconv.Itoa(res.repairs()))
	status := http.StatusOK
	if res.err != nil {
		httpmw.MarkFailed(ctx, res.reason)
		status = res.status
		resp.Error = &apiError{Code: res.reason, Message: res.err.Error()}
	}
	writeJSON(w, status, resp)
}

type chatResponse struct {
	Answer         string      `json:"answer"`
	Model          string      `json:"model"`
	Tenant         string      `json:"tenant"`
	InstanceID     string      `json:"instance_id"`
	BudgetDecision string      `json:"budget_decision,omitempty"`
	ToolCalls      []*callInfo `json:"tool_calls"`
	Retries        int         `json:"model_retries"`
	Usage          usageJSON   `json:"usage"`
	CostUSD        float64     `json:"cost_usd"`
	Error          *apiError   `json:"error,omitempty"`
}

type usageJSON struct {
	InputTokens       int64 `json:"input_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Service) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":      "ok",
		"instance_id": s.cfg.InstanceID,
		"version":     Version,
		"uptime":      s.clock.Now().Sub(s.started).Round(time.Second).String(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": apiError{Code: code, Message: msg}})
}

// endpointHost names the model endpoint without credentials or path.
func endpointHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}
