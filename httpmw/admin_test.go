package httpmw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/httpmw"
)

const adminToken = "s3cret-admin-token-0123456789"

func TestMountAdmin(t *testing.T) {
	in, err := chaos.New()
	if err != nil {
		t.Fatal(err)
	}
	enf := newEnforcer(t, budget.NewMemory(), 1_000_000, nil)
	res, err := enf.Reserve(context.Background(), "acme", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(context.Background(), 250_000); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := httpmw.MountAdmin(mux, adminToken, httpmw.WithChaos(in), httpmw.WithBudget(enf, httpmw.FixedEstimate(1))); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, path, token, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"budget without token", http.MethodGet, "/admin/budget/acme", "", "", http.StatusUnauthorized},
		{"budget with a wrong token", http.MethodGet, "/admin/budget/acme", "wrong-token-wrong-token-000", "", http.StatusUnauthorized},
		{"budget is read-only", http.MethodPost, "/admin/budget/acme", adminToken, "{}", http.StatusMethodNotAllowed},
		{"chaos without token", http.MethodGet, "/admin/chaos", "", "", http.StatusUnauthorized},
		{"chaos set", http.MethodPost, "/admin/chaos", adminToken, `{"mode":"outage","target":"model","probability":1,"ttl":"5m"}`, http.StatusCreated},
		{"chaos list", http.MethodGet, "/admin/chaos", adminToken, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := do(tt.method, tt.path, tt.token, tt.body); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	resp := do(http.MethodGet, "/admin/budget/acme", adminToken, "")
	var v struct {
		Budget struct {
			Tenant        string `json:"tenant"`
			Decision      string `json:"decision"`
			SpentMicroUSD int64  `json:"spent_micro_usd"`
			LimitMicroUSD int64  `json:"limit_micro_usd"`
			PeriodEnd     string `json:"period_end"`
		} `json:"budget"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if b := v.Budget; b.Tenant != "acme" || b.Decision != "allow" || b.SpentMicroUSD != 250_000 || b.LimitMicroUSD != 1_000_000 || b.PeriodEnd == "" {
		t.Fatalf("budget view %+v", b)
	}
	// The budget view shares the chaos admin authentication
	// (chaos.AdminHandler.Protect): challenge on 401, cross-site refusal.
	for _, tt := range []struct {
		name, token, site string
		status            int
		challenge         bool
	}{
		{"budget challenge", "", "", http.StatusUnauthorized, true},
		{"budget cross-site", adminToken, "cross-site", http.StatusForbidden, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/budget/acme", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.site != "" {
				req.Header.Set("Sec-Fetch-Site", tt.site)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || (resp.Header.Get("WWW-Authenticate") != "") != tt.challenge {
				t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if fs, _ := in.Faults(context.Background()); len(fs) != 1 {
		t.Fatalf("the admin API set %d faults on the injector", len(fs))
	}
}

func TestMountAdminValidation(t *testing.T) {
	in, _ := chaos.New()
	tests := []struct {
		name  string
		mux   *http.ServeMux
		token string
		opts  []httpmw.Option
	}{
		{"nil mux", nil, adminToken, []httpmw.Option{httpmw.WithChaos(in)}},
		{"nothing to mount", http.NewServeMux(), adminToken, nil},
		{"no token", http.NewServeMux(), "", []httpmw.Option{httpmw.WithChaos(in)}},
		{"short token", http.NewServeMux(), "short", []httpmw.Option{httpmw.WithChaos(in)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := httpmw.MountAdmin(tt.mux, tt.token, tt.opts...); err == nil {
				t.Fatal("MountAdmin accepted it")
			}
		})
	}
}
