package httpmw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
)

// Admin paths mounted by MountAdmin.
const (
	AdminChaosPath  = "/admin/chaos"
	AdminBudgetPath = "/admin/budget/{tenant}"
)

// WithChaosController sets the controller the chaos admin API drives, for a
// fleet (chaos/redissync); default the WithChaos injector. Admin.
func WithChaosController(ctrl chaos.Controller) Option {
	return optionFunc(func(cfg *config) error {
		if ctrl == nil {
			return errors.New("httpmw: WithChaosController(nil)")
		}
		cfg.chaosCtrl = ctrl
		return nil
	})
}

// WithChaosAdminOptions passes options to chaos.NewAdminHandler (audit
// hook, trusted origins, body limit). Admin.
func WithChaosAdminOptions(opts ...chaos.AdminOption) Option {
	return optionFunc(func(cfg *config) error {
		cfg.chaosAdmin = append(cfg.chaosAdmin, opts...)
		return nil
	})
}

// MountAdmin mounts the operator endpoints on mux, all behind the
// authentication of the chaos admin API (the budget view through
// chaos.AdminHandler.Protect: the same bearer token compared the same way,
// 401 with WWW-Authenticate, cross-origin browser requests refused):
//
//   - AdminChaosPath: the chaos admin API (chaos.NewAdminHandler) over the
//     WithChaosController controller or the WithChaos injector;
//   - GET AdminBudgetPath: a read-only view of a tenant's budget for the
//     current period, from the WithBudget enforcer.
//
// Each is mounted when its option is given; at least one must be. token
// must satisfy chaos.NewAdminHandler (it is required: the budget view has
// no unauthenticated mode).
func MountAdmin(mux *http.ServeMux, token string, opts ...Option) error {
	if mux == nil {
		return errors.New("httpmw: MountAdmin(nil mux)")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	ctrl := cfg.chaosCtrl
	if ctrl == nil && cfg.chaos != nil {
		ctrl = cfg.chaos
	}
	if ctrl == nil && cfg.enforcer == nil {
		return errors.New("httpmw: MountAdmin needs WithChaos, WithChaosController or WithBudget")
	}
	if token == "" {
		return fmt.Errorf("httpmw: MountAdmin: %w", chaos.ErrNoToken)
	}
	// The chaos handler validates the token and authenticates the budget
	// view too (chaos.AdminHandler.Protect), so both share one check.
	ch, err := chaos.NewAdminHandler(chaosOrEmpty(ctrl), token, cfg.chaosAdmin...)
	if err != nil {
		return fmt.Errorf("httpmw: MountAdmin: %w", err)
	}
	if ctrl != nil {
		mux.Handle(AdminChaosPath, ch)
	}
	if cfg.enforcer != nil {
		mux.Handle("GET "+AdminBudgetPath, ch.Protect(&budgetView{enf: cfg.enforcer}))
	}
	return nil
}

// chaosOrEmpty lets the token be validated by chaos.NewAdminHandler even
// when only the budget view is mounted.
func chaosOrEmpty(ctrl chaos.Controller) chaos.Controller {
	if ctrl != nil {
		return ctrl
	}
	return &chaos.Injector{}
}

// budgetView serves a tenant's budget status as JSON. MountAdmin puts it
// behind the chaos admin handler's authentication (Protect).
type budgetView struct {
	enf *budget.Enforcer
}

// budgetStatus is the JSON of the budget view.
type budgetStatus struct {
	Tenant            string  `json:"tenant"`
	Decision          string  `json:"decision"`
	SpentMicroUSD     int64   `json:"spent_micro_usd"`
	HeldMicroUSD      int64   `json:"held_micro_usd"`
	LimitMicroUSD     int64   `json:"limit_micro_usd"`
	RemainingMicroUSD int64   `json:"remaining_micro_usd"`
	RemainingUSD      float64 `json:"remaining_usd"`
	PeriodStart       string  `json:"period_start"`
	PeriodEnd         string  `json:"period_end"`
}

// ServeHTTP answers GET /admin/budget/{tenant} for an authenticated
// caller.
func (v *budgetView) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, err := v.enf.Status(r.Context(), r.PathValue("tenant"))
	switch {
	case errors.Is(err, budget.ErrInvalidTenant):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error(), nil)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, CodeBudgetUnavailable, err.Error(), nil)
		return
	}
	b, _ := json.Marshal(map[string]budgetStatus{"budget": {
		Tenant:            st.Tenant,
		Decision:          st.Decision.String(),
		SpentMicroUSD:     st.Spent,
		HeldMicroUSD:      st.Held,
		LimitMicroUSD:     st.Limit,
		RemainingMicroUSD: st.Remaining,
		RemainingUSD:      float64(st.Remaining) / 1e6,
		PeriodStart:       st.PeriodStart.UTC().Format(time.RFC3339),
		PeriodEnd:         st.PeriodEnd.UTC().Format(time.RFC3339),
	}})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
