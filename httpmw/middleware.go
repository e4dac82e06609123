package httpmw

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/sli"
)

// HeaderBudgetDecision is the response header carrying the budget decision
// ("allow", "downshift" or "block") of every request that reached the
// budget check.
const HeaderBudgetDecision = "X-Budget-Decision"

// Error codes of the middleware's JSON error responses
// ({"error":{"code":...,"message":...}}).
const (
	CodeUnauthorized      = "unauthorized"       // 401: the tenant could not be resolved
	CodeBudgetExceeded    = "budget_exceeded"    // 429: the tenant's budget is spent
	CodeBudgetUnavailable = "budget_unavailable" // 503: the budget store failed (fail-closed)
	CodeInternal          = "internal_error"     // 500: the budget refused the request's estimate
)

// Failure reasons the middleware records on agent.task.failure, besides the
// reason a handler gives MarkFailed.
const (
	ReasonBudgetBlocked     = "budget_blocked"
	ReasonBudgetUnavailable = "budget_unavailable"
	ReasonServerError       = "server_error" // the handler answered 5xx
	ReasonPanic             = "panic"
	ReasonAborted           = "aborted" // the handler panicked with http.ErrAbortHandler
)

// DefaultTenant is the tenant of every request when no TenantFunc is set.
const DefaultTenant = "default"

// EstimateFunc returns the worst-case cost of a request in micro-USD, the
// amount the budget reserves before the handler runs.
type EstimateFunc func(r *http.Request, tenant string) int64

// FixedEstimate returns an EstimateFunc that reserves microUSD for every
// request.
func FixedEstimate(microUSD int64) EstimateFunc {
	return func(*http.Request, string) int64 { return microUSD }
}

// WithBudget enforces enf on every request: estimate's amount is reserved
// for the tenant before the handler runs and the actual cost accumulated
// during the request is settled after it. New requires WithTenant with it.
// Middleware and Admin (budget status view).
func WithBudget(enf *budget.Enforcer, estimate EstimateFunc) Option {
	return optionFunc(func(cfg *config) error {
		if enf == nil || estimate == nil {
			return errors.New("httpmw: WithBudget needs an enforcer and an estimator")
		}
		cfg.enforcer, cfg.estimate = enf, estimate
		return nil
	})
}

// WithDownshiftModel names the cheaper model a request runs on when the
// budget answers Downshift: the middleware puts it in the request's task,
// where the Transport applies it and handlers read it with DownshiftModel.
// Without it a Downshift decision only shows in the header and the task.
// Middleware.
func WithDownshiftModel(model string) Option {
	return optionFunc(func(cfg *config) error {
		if model == "" {
			return errors.New("httpmw: WithDownshiftModel(\"\")")
		}
		cfg.downshift = model
		return nil
	})
}

// New returns the server middleware configured by opts. With no option it
// starts a task per request (so MarkFailed, AddUsage and the Transport work
// in handlers) and caps the request body at DefaultBodyLimit; each option
// adds one feature.
func New(opts ...Option) (func(http.Handler) http.Handler, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.enforcer != nil && cfg.tenant == nil {
		return nil, errors.New("httpmw: WithBudget needs WithTenant: a budget is per tenant")
	}
	if cfg.downshift != "" && cfg.enforcer == nil {
		return nil, errors.New("httpmw: WithDownshiftModel needs WithBudget")
	}
	card := cfg.rateCard
	if card == nil && cfg.recorder != nil {
		card = cfg.recorder.RateCard()
	}
	return func(next http.Handler) http.Handler {
		return &handler{next: next, cfg: cfg, card: card}
	}, nil
}

// NewHandler wraps h with the middleware configured by opts.
func NewHandler(h http.Handler, opts ...Option) (http.Handler, error) {
	mw, err := New(opts...)
	if err != nil {
		return nil, err
	}
	return mw(h), nil
}

type handler struct {
	next http.Handler
	cfg  *config
	card *sli.RateCard
}

// request is the per-request state of the middleware, allocated at once.
type request struct {
	task   Task
	ctx    taskContext
	rw     responseWriter
	settle settleCtx
}

// ServeHTTP runs one request as a task (see the package documentation).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := h.cfg
	start := cfg.clock.Now()
	tenant := DefaultTenant
	if cfg.tenant != nil {
		var err error
		if tenant, err = cfg.tenant(r); err != nil {
			msg := "tenant not resolved"
			if errors.Is(err, ErrTenantMissing) || errors.Is(err, ErrTenantInvalid) {
				msg = err.Error() // the header resolver's errors say what to fix
			}
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, msg, nil)
			return
		}
	}
	st := &request{}
	task := &st.task
	task.tenant, task.card = tenant, h.card
	ctx := r.Context()

	var res budget.Reservation
	if cfg.enforcer != nil {
		var ok bool
		if res, ok = h.admit(ctx, w, task, r, start); !ok {
			return
		}
	}
	st.ctx = taskContext{Context: ctx, task: task}
	r = r.WithContext(&st.ctx)
	if cfg.bodyLimit > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, cfg.bodyLimit)
	}

	if cfg.recorder == nil {
		// Nothing to record: the handler gets the caller's writer as is.
		if cfg.enforcer == nil {
			h.next.ServeHTTP(w, r)
			return
		}
		defer h.settle(ctx, st, res)
		h.next.ServeHTTP(w, r)
		return
	}
	st.rw.ResponseWriter = w
	normal := false
	defer func() {
		if normal {
			return
		}
		p := recover()
		reason := ReasonPanic
		if p == nil || p == http.ErrAbortHandler {
			reason = ReasonAborted // ErrAbortHandler, or runtime.Goexit (p == nil)
		}
		task.markFailed(reason)
		h.end(ctx, st, res, start)
		if p != nil {
			panic(p)
		}
	}()
	h.next.ServeHTTP(&st.rw, r)
	normal = true
	h.end(ctx, st, res, start)
}

// admit reserves the request's estimate and answers the request itself
// when it may not run.
func (h *handler) admit(ctx context.Context, w http.ResponseWriter, task *Task, r *http.Request, start time.Time) (budget.Reservation, bool) {
	cfg := h.cfg
	res, err := cfg.enforcer.Reserve(ctx, task.tenant, cfg.estimate(r, task.tenant))
	if err != nil || res.Decision == budget.Block {
		w.Header()[HeaderBudgetDecision] = []string{budget.Block.String()}
		status, code, reason, msg := refusal(err)
		var extra map[string]any
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(res.RetryAfter()), 10))
			extra = map[string]any{
				"limit_micro_usd": res.Limit,
				"limit_usd":       float64(res.Limit) / 1e6,
				"period_end":      res.PeriodEnd.UTC().Format(time.RFC3339),
			}
		}
		writeError(w, status, code, msg, extra)
		if cfg.recorder != nil {
			task.markFailed(reason)
			cfg.recorder.RecordTask(ctx, sli.Task{Tenant: task.tenant, FailureReason: reason, Duration: cfg.clock.Now().Sub(start)})
		}
		return res, false
	}
	task.decision = res.Decision
	if res.Decision == budget.Downshift {
		task.downshift = cfg.downshift
	}
	w.Header()[HeaderBudgetDecision] = []string{res.Decision.String()}
	return res, true
}

// refusal maps a refused reservation to its response, in one place.
func refusal(err error) (status int, code, reason, msg string) {
	switch {
	case err == nil:
		return http.StatusTooManyRequests, CodeBudgetExceeded, ReasonBudgetBlocked, "the tenant's budget for the period is spent"
	case errors.Is(err, budget.ErrStoreUnavailable):
		return http.StatusServiceUnavailable, CodeBudgetUnavailable, ReasonBudgetUnavailable, "the budget store is unavailable"
	case errors.Is(err, budget.ErrInvalidTenant):
		return http.StatusUnauthorized, CodeUnauthorized, ReasonBudgetBlocked, "tenant not accepted by the budget"
	}
	return http.StatusInternalServerError, CodeInternal, ReasonBudgetBlocked, "the budget refused the request estimate"
}

// retryAfterSeconds rounds up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// end settles the reservation and records the task, once per request.
func (h *handler) end(ctx context.Context, st *request, res budget.Reservation, start time.Time) {
	task := &st.task
	if h.cfg.enforcer != nil {
		h.settle(ctx, st, res)
	}
	status := st.rw.statusCode()
	if status >= 500 {
		task.markFailed(ReasonServerError)
	}
	reason, failed := task.Failed()
	h.cfg.recorder.RecordTask(ctx, sli.Task{
		Tenant:        task.tenant,
		Model:         task.servedModel(),
		Duration:      h.cfg.clock.Now().Sub(start),
		Success:       !failed,
		FailureReason: reason,
		Usage:         task.Usage(),
		CostMicroUSD:  task.CostMicroUSD(),
	})
}

// settle settles the reservation with the task's actual cost, on a context
// that outlives the request's cancellation but not the settle timeout.
func (h *handler) settle(ctx context.Context, st *request, res budget.Reservation) {
	st.settle.init(ctx, h.cfg.settleTimeout)
	defer st.settle.stop()
	_ = res.Settle(&st.settle, st.task.CostMicroUSD())
}

// writeError writes a JSON error {"error":{"code":...,"message":...,extra...}}.
func writeError(w http.ResponseWriter, status int, code, msg string, extra map[string]any) {
	body := map[string]any{"code": code, "message": msg}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
