package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/examples/agent/internal/service"
	"github.com/llmops-go/llmops/internal/drill"
	"github.com/llmops-go/llmops/internal/redistest"
)

const token = "e2e-admin-token-0123456789"

// start runs the service in-process on a loopback server.
func start(t *testing.T, edit func(*config.Config), opts ...service.Option) (*service.Service, string) {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string {
		if k == config.EnvAdminToken {
			return token
		}
		return ""
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InstanceID = "e2e-" + strings.ReplaceAll(t.Name(), "/", "-")
	cfg.ChaosSeed = 42
	cfg.Sim.Seed = 7
	if edit != nil {
		edit(&cfg)
	}
	svc, err := service.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := svc.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return svc, srv.URL
}

// runDrill drives n requests through the drill code path.
// Concurrency n never drops a send, whatever the machine's speed.
func runDrill(t *testing.T, url string, n int, fault *drill.Fault, header http.Header, body string) drill.Report {
	t.Helper()
	cfg := drill.Config{
		URL: url, Token: token, Fault: fault, Rate: 200, Requests: n, Concurrency: n,
		Timeout: 20 * time.Second, Header: header,
	}
	if body != "" {
		cfg.Body = []byte(body)
	}
	rep, err := drill.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Dropped != 0 || rep.Completed != n {
		t.Fatalf("dropped %d, completed %d of %d", rep.Dropped, rep.Completed, n)
	}
	return rep
}

// scrape returns the metric families of /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sum adds the values of a family's series whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	total := 0.0
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func chat(t *testing.T, url, tenant, prompt string) (*http.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	req, _ := http.NewRequest(http.MethodPost, url+"/chat", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	return resp, out
}

func TestDrillWithoutFault(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run("stream="+strconv.FormatBool(stream), func(t *testing.T) {
			_, url := start(t, func(c *config.Config) { c.Stream = stream })
			rep := runDrill(t, url, 30, nil, nil, "")
			if rep.SuccessRatio != 1 {
				t.Errorf("success ratio %v, status %v", rep.SuccessRatio, rep.Status)
			}
			if rep.Instances["e2e-TestDrillWithoutFault-stream="+strconv.FormatBool(stream)] != 30 || rep.Models["gpt-4o"] != 30 {
				t.Errorf("instances %v models %v", rep.Instances, rep.Models)
			}
			if rep.Healing.Fallbacks != 0 {
				t.Errorf("fallbacks %d without a fault", rep.Healing.Fallbacks)
			}
		})
	}
}

func TestDrillOutageOnWebSearch(t *testing.T) {
	_, url := start(t, nil)
	before := scrape(t, url)
	rep := runDrill(t, url, 60, &drill.Fault{Mode: drill.ModeOutage, Target: "tool:web_search", Probability: 1}, nil, "")
	if rep.SuccessRatio < 0.99 {
		t.Errorf("success ratio %v, status %v", rep.SuccessRatio, rep.Status)
	}
	if rep.Healing.Fallbacks < int64(rep.Successes) || rep.Healing.Healed != rep.Successes {
		t.Errorf("fallbacks %d, healed %d, successes %d", rep.Healing.Fallbacks, rep.Healing.Healed, rep.Successes)
	}
	if rep.Fault == nil || !rep.Fault.Cleared {
		t.Errorf("fault not cleared: %+v", rep.Fault)
	}
	after := scrape(t, url)
	fb := map[string]string{"tool": "web_search", "status": "fallback"}
	if d := sum(after, "agent_tool_success_total", fb) - sum(before, "agent_tool_success_total", fb); d < 60 {
		t.Errorf("agent.tool.success{tool=web_search,status=fallback} rose by %v, want >= 60", d)
	}
	served := sum(after, "agent_tool_success_total", map[string]string{"status": "success", "tool": "cached_snapshot"}) +
		sum(after, "agent_tool_success_total", map[string]string{"status": "success", "tool": "static_kb"})
	if served < 60 {
		t.Errorf("fallback steps served %v calls", served)
	}
	if n := sum(after, "agent_chaos_injected_total", map[string]string{"mode": "outage", "target": "tool:web_search"}); n < 60 {
		t.Errorf("agent.chaos.injected = %v", n)
	}
	// With the fault cleared, the live search serves again (its breaker
	// opened during the outage, so the first calls still fall back until
	// it half-opens; the answers stay successful either way).
	resp, _ := chat(t, url, "", "weather in Paris today")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d after the drill", resp.StatusCode)
	}
}

func TestDrillMalformedTools(t *testing.T) {
	_, url := start(t, func(c *config.Config) { c.Sim.MalformedRate = 0 })
	before := scrape(t, url)
	rep := runDrill(t, url, 40, &drill.Fault{Mode: drill.ModeMalformed, Target: "tools", Probability: 1}, nil, "")
	if rep.SuccessRatio < 0.95 {
		t.Errorf("success ratio %v, status %v", rep.SuccessRatio, rep.Status)
	}
	if rep.Healing.Repairs < int64(rep.Successes) {
		t.Errorf("repairs %d, successes %d", rep.Healing.Repairs, rep.Successes)
	}
	after := scrape(t, url)
	if d := sum(after, "agent_repair_retry_total", nil) - sum(before, "agent_repair_retry_total", nil); d < 40 {
		t.Errorf("agent.repair.retry rose by %v", d)
	}
	if sum(after, "agent_repair_retry_total", map[string]string{"outcome": "repaired"}) == 0 {
		t.Error("no attempt repaired")
	}
}

func TestSimulatedMalformedArgumentsAreRepaired(t *testing.T) {
	_, url := start(t, func(c *config.Config) { c.Sim.MalformedRate = 1 })
	for _, p := range []string{"count primes up to 300", "weather in Paris today", "fact about go"} {
		resp, out := chat(t, url, "", p)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(service.HeaderRepairs) != "1" {
			t.Errorf("%s: status %d repairs %s: %v", p, resp.StatusCode, resp.Header.Get(service.HeaderRepairs), out)
		}
	}
}

func TestBudgetDownshiftThenBlock(t *testing.T) {
	_, url := start(t, func(c *config.Config) {
		c.Budgets.Tenants["trial"] = 10_000 // 0.01 USD
		c.Budgets.EstimateMicroUSD = 4_000
	})
	h := http.Header{"X-Tenant-ID": {"trial"}}
	rep, err := drill.Run(context.Background(), drill.Config{URL: url, Rate: 400, Requests: 60, Concurrency: 60, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Healing.Downshifts == 0 || rep.Healing.Blocks == 0 || rep.Models["gpt-4o-mini"] != rep.Healing.Downshifts {
		t.Errorf("downshifts %d blocks %d models %v status %v", rep.Healing.Downshifts, rep.Healing.Blocks, rep.Models, rep.Status)
	}
	if rep.Status[http.StatusTooManyRequests] != rep.Healing.Blocks || rep.Models["gpt-4o"] == 0 {
		t.Errorf("status %v models %v", rep.Status, rep.Models)
	}
	resp, out := chat(t, url, "trial", "weather in Paris today")
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || ra <= 0 || !strings.Contains(toJSON(out), "budget_exceeded") {
		t.Errorf("status %d Retry-After %q body %v", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	// Another tenant is unaffected.
	if resp, out := chat(t, url, "acme", "weather in Paris today"); resp.StatusCode != http.StatusOK || out["model"] != "gpt-4o" {
		t.Errorf("acme: %d %v", resp.StatusCode, out)
	}
	fams := scrape(t, url)
	if sum(fams, "agent_model_downshift_total", map[string]string{"tenant": "trial", "from_model": "gpt-4o", "to_model": "gpt-4o-mini"}) == 0 ||
		sum(fams, "agent_budget_breach_total", map[string]string{"tenant": "trial", "decision": "block"}) == 0 {
		t.Error("downshift or breach not recorded")
	}
}

func TestDownshiftedRequestUsesCheaperModel(t *testing.T) {
	_, url := start(t, func(c *config.Config) {
		c.Budgets.Tenants["trial"] = 10_000
		c.Budgets.EstimateMicroUSD = 9_000 // 90 %: every admitted request is downshifted
	})
	resp, out := chat(t, url, "trial", "count primes up to 100")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Budget-Decision") != "downshift" ||
		resp.Header.Get(service.HeaderModel) != "gpt-4o-mini" || out["model"] != "gpt-4o-mini" {
		t.Errorf("status %d headers %v body %v", resp.StatusCode, resp.Header, out)
	}
}

func TestFaultExpiresAfterTTL(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	_, url := start(t, nil, service.WithClock(fake))
	admin := func(method, body string) (int, string) {
		req, _ := http.NewRequest(method, url+"/admin/chaos", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := admin(http.MethodPost, `{"mode":"outage","target":"tool:web_search","probability":1,"ttl":"1m"}`); code != http.StatusCreated {
		t.Fatalf("set: %d %s", code, body)
	}
	resp, out := chat(t, url, "", "weather in Paris today")
	if resp.Header.Get(service.HeaderFallbacks) != "1" {
		t.Errorf("during the fault: %v", out)
	}
	fake.Advance(61 * time.Second)
	if code, body := admin(http.MethodGet, ""); code != http.StatusOK || !strings.Contains(body, `"faults":[]`) {
		t.Errorf("after the TTL: %d %s", code, body)
	}
	resp, out = chat(t, url, "", "weather in Paris today")
	calls, _ := out["tool_calls"].([]any)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(service.HeaderFallbacks) != "0" || len(calls) != 1 ||
		calls[0].(map[string]any)["served_by"] != "web_search" {
		t.Errorf("after the TTL: %d %v", resp.StatusCode, out)
	}
}

func TestAdminNeedsToken(t *testing.T) {
	_, url := start(t, nil)
	resp, err := http.Get(url + "/admin/chaos")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d", resp.StatusCode)
	}
	_, err = drill.Run(context.Background(), drill.Config{URL: url, Token: "wrong-token-wrong-token", Rate: 10, Requests: 1,
		Fault: &drill.Fault{Mode: drill.ModeOutage, Target: "tools", Probability: 1}})
	if !errors.Is(err, drill.ErrUnauthorized) {
		t.Errorf("drill with a wrong token: %v", err)
	}
}

func TestHealthStatusAndErrors(t *testing.T) {
	_, url := start(t, nil)
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["status"] != "ok" || h["version"] != service.Version || h["instance_id"] != "e2e-TestHealthStatusAndErrors" ||
		resp.Header.Get(service.HeaderInstance) != "e2e-TestHealthStatusAndErrors" {
		t.Errorf("health %v", h)
	}
	resp, err = http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"simulated model", "Active faults", "/metrics", "static_kb"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	for _, body := range []string{`{}`, `{"prompt":""}`, `{"prompt":"x","extra":1}`, `not json`} {
		resp, err := http.Post(url+"/chat", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, resp.StatusCode)
		}
	}
	resp, out := chat(t, url, "bad tenant!", "hi")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("invalid tenant: %d %v", resp.StatusCode, out)
	}
}

// TestMetricsExposeAgentSLIs drives traffic that produces each of the eleven
// agent metrics and checks /metrics has them with their documented labels.
func TestMetricsExposeAgentSLIs(t *testing.T) {
	_, url := start(t, func(c *config.Config) {
		c.Budgets.Tenants["trial"] = 10_000
		c.Budgets.EstimateMicroUSD = 9_000 // every admitted request of trial is downshifted
		c.Sim.MalformedRate = 1
	})
	for i := 0; i < 12; i++ { // success, repairs, downshift, then block
		chat(t, url, "trial", "weather in Paris today")
	}
	// A failure: compute_primes is a one-step chain, an outage fails it.
	runDrill(t, url, 2, &drill.Fault{Mode: drill.ModeOutage, Target: "tool:compute_primes", Probability: 1},
		http.Header{"X-Tenant-ID": {"acme"}}, `{"prompt":"count primes up to 50"}`)
	fams := scrape(t, url)
	want := map[string][]string{
		"agent_task_success_total":    {"tenant", "model"},
		"agent_task_failure_total":    {"tenant", "model", "reason"},
		"agent_task_latency_seconds":  {"tenant", "model", "outcome"},
		"agent_tokens_in_total":       {"tenant", "model"},
		"agent_tokens_out_total":      {"tenant", "model"},
		"agent_cost_usd_USD_total":    {"tenant", "model", "rate_card_version"},
		"agent_tool_success_total":    {"tenant", "tool", "status"},
		"agent_repair_retry_total":    {"tool", "attempt", "kind", "outcome"},
		"agent_model_downshift_total": {"tenant", "from_model", "to_model"},
		"agent_budget_breach_total":   {"tenant", "decision"},
		"agent_chaos_injected_total":  {"mode", "target"},
	}
	for name, labels := range want {
		f := fams[name]
		if f == nil || len(f.GetMetric()) == 0 {
			t.Errorf("%s missing", name)
			continue
		}
		got := map[string]bool{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			got[l.GetName()] = true
		}
		for _, l := range labels {
			if !got[l] {
				t.Errorf("%s lacks label %s (has %v)", name, l, got)
			}
		}
	}
	if sum(fams, "agent_task_failure_total", map[string]string{"tenant": "acme", "reason": "tool_failure"}) != 2 {
		t.Error("the compute_primes outage did not fail two tasks")
	}
	for _, name := range []string{"gen_ai_client_token_usage", "gen_ai_client_operation_duration_seconds"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
}

func TestRedisSharesBudgetsAndChaos(t *testing.T) {
	rs := redistest.Start(t)
	edit := func(id string) func(*config.Config) {
		return func(c *config.Config) {
			c.RedisURL = rs.URL()
			c.InstanceID = id
			c.Budgets.Tenants["trial"] = 10_000
			c.Budgets.EstimateMicroUSD = 4_000
		}
	}
	_, urlA := start(t, edit("a"))
	b, urlB := start(t, edit("b"))
	rep, err := drill.Run(context.Background(), drill.Config{URL: urlA, Token: token, Rate: 100, Requests: 1,
		Fault: &drill.Fault{Mode: drill.ModeOutage, Target: "tool:web_search", Probability: 1, TTL: time.Minute}})
	if err != nil || rep.Healing.Fallbacks != 1 {
		t.Fatalf("drill on a: %v, %+v", err, rep.Healing)
	}
	// The drill cleared the fault through a; set it again and check b sees it.
	req, _ := http.NewRequest(http.MethodPost, urlA+"/admin/chaos", strings.NewReader(`{"mode":"outage","target":"tool:web_search","ttl":"1m"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("set through a: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := b.ReconcileChaos(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp, out := chat(t, urlB, "", "weather in Paris today"); resp.Header.Get(service.HeaderFallbacks) != "1" {
		t.Errorf("b did not apply the fleet's fault: %v", out)
	}
	// The budget is shared: spend on a, then b sees the tenant blocked.
	for i := 0; i < 40; i++ {
		if resp, _ := chat(t, urlA, "trial", "count primes up to 10"); resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if resp, out := chat(t, urlB, "trial", "count primes up to 10"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("b: %d %v", resp.StatusCode, out)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A corrupted JSON answer cannot be read: it is asked again twice, then the
// task fails. (Corrupted SSE streams sometimes still parse, so this runs
// without streaming.)
func TestMalformedModelAnswersAreAskedAgain(t *testing.T) {
	_, url := start(t, func(c *config.Config) { c.Stream = false })
	req, _ := http.NewRequest(http.MethodPost, url+"/admin/chaos", strings.NewReader(`{"mode":"malformed","target":"model","probability":1,"ttl":"1m"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("set: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, out := chat(t, url, "", "count primes up to 10")
	e, _ := out["error"].(map[string]any)
	if resp.StatusCode != http.StatusBadGateway || e["code"] != service.ReasonModelError || out["model_retries"] != float64(2) {
		t.Errorf("status %d body %v", resp.StatusCode, out)
	}
	fams := scrape(t, url)
	if sum(fams, "agent_task_failure_total", map[string]string{"reason": service.ReasonModelError}) != 1 {
		t.Error("the failure was not recorded with reason model_error")
	}
}
