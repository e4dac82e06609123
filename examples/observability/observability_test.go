package observability_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promexp "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/llmops-go/llmops/sli"
	"github.com/llmops-go/llmops/sli/appinsights"
)

// names maps a metric name to the dimension (label) keys seen on it.
type names map[string]map[string]bool

func (n names) add(metric, key string) {
	if n[metric] == nil {
		n[metric] = map[string]bool{}
	}
	if key != "" {
		n[metric][key] = true
	}
}

// ingest is a loopback Application Insights ingestion endpoint.
type ingest struct {
	mu  sync.Mutex
	got names
	err error
}

func (in *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	defer in.mu.Unlock()
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		in.err = err
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(zr)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var e struct {
			Data struct {
				BaseData struct {
					Metrics    []struct{ Name string } `json:"metrics"`
					Properties map[string]string       `json:"properties"`
				} `json:"baseData"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			in.err = err
			continue
		}
		for _, m := range e.Data.BaseData.Metrics {
			in.got.add(m.Name, "")
			for k := range e.Data.BaseData.Properties {
				in.got.add(m.Name, k)
			}
		}
		n++
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"itemsReceived":`+itoa(n)+`,"itemsAccepted":`+itoa(n)+`,"errors":[]}`)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// emitted records every SLI once through a real Recorder and returns what
// reached Prometheus and Application Insights.
func emitted(t *testing.T) (prom, ai names) {
	t.Helper()
	in := &ingest{got: names{}}
	srv := httptest.NewServer(in)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	pe, err := promexp.New(promexp.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ae, err := appinsights.New("InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=" + srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(pe),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(ae, sdkmetric.WithInterval(time.Hour))))
	rec, err := sli.New(sli.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u := sli.Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}
	rec.RecordTask(ctx, sli.Task{Tenant: "acme", Model: "gpt-4o", Duration: time.Second, Success: true, Usage: u, CostMicroUSD: 4000})
	rec.RecordTask(ctx, sli.Task{Tenant: "acme", Model: "gpt-4o", Duration: 2 * time.Second, FailureReason: "tool_failure", Usage: u, CostMicroUSD: 4000})
	rec.RecordModelCall(ctx, sli.ModelCall{Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o", Usage: u, Duration: time.Second})
	rec.RecordModelCall(ctx, sli.ModelCall{Provider: "openai", RequestModel: "gpt-4o", Duration: time.Second, ErrorType: "429"})
	for _, st := range []sli.ToolStatus{sli.ToolSuccess, sli.ToolFallback, sli.ToolFailure} {
		rec.RecordToolOutcome(ctx, "acme", "web_search", st)
	}
	rec.RecordRepair(ctx, "web_search", 1, sli.RepairModel, "repaired")
	rec.RecordDownshift(ctx, "acme", "gpt-4o", "gpt-4o-mini")
	rec.RecordBudgetBreach(ctx, "acme", sli.BreachDownshift)
	rec.RecordBudgetBreach(ctx, "acme", sli.BreachBlock)
	rec.RecordChaosInjected(ctx, "outage", "tool:web_search")

	prom = names{}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		prom.add(f.GetName(), "")
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				prom.add(f.GetName(), l.GetName())
			}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mp.Shutdown(sctx); err != nil { // flushes to the ingestion server
		t.Fatal(err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil {
		t.Fatal(in.err)
	}
	for _, m := range []string{sli.MetricTaskSuccess, sli.MetricChaosInjected, sli.MetricGenAITokenUsage} {
		if in.got[m] == nil {
			t.Fatalf("Application Insights got no %s; got %v", m, keys(in.got))
		}
	}
	return prom, in.got
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	kqlHeaderRE = regexp.MustCompile(`(?m)^// ---- (\w+): .* ----\n`)
	kqlNameRE   = regexp.MustCompile(`"((?:agent|gen_ai)\.[a-z_.]+)"`)
	kqlDimRE    = regexp.MustCompile(`customDimensions\["([^"]+)"\]`)
	promRuleRE  = regexp.MustCompile(`\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b`)
	promNameRE  = regexp.MustCompile(`\b((?:agent|gen_ai)_[A-Za-z_]+)\b`)
	promByRE    = regexp.MustCompile(`\bby \(([^)]*)\)`)
	promMatchRE = regexp.MustCompile(`\{([^{}]*)\}`)
	promLabelRE = regexp.MustCompile(`(\w+)\s*(?:=~|!~|!=|=)`)
	legendRE    = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)
)

// kqlQueries returns the queries of queries.kql by name.
func kqlQueries(t *testing.T) map[string]string {
	src := read(t, "queries.kql")
	idx := kqlHeaderRE.FindAllStringSubmatchIndex(src, -1)
	out := map[string]string{}
	for i, m := range idx {
		end := len(src)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out[src[m[2]:m[3]]] = strings.TrimSpace(src[m[1]:end])
	}
	return out
}

// checkKQL checks that every metric a query names was sent to Application
// Insights and every dimension it reads was sent with one of them.
func checkKQL(t *testing.T, ai names, where, q string) {
	t.Helper()
	var metrics []string
	for _, m := range kqlNameRE.FindAllStringSubmatch(q, -1) {
		if ai[m[1]] == nil {
			t.Errorf("%s: metric %q is not sent to Application Insights (sent: %v)", where, m[1], keys(ai))
		}
		metrics = append(metrics, m[1])
	}
	if len(metrics) == 0 {
		t.Errorf("%s: no metric name", where)
	}
	for _, d := range kqlDimRE.FindAllStringSubmatch(q, -1) {
		ok := false
		for _, m := range metrics {
			ok = ok || ai[m][d[1]]
		}
		if !ok {
			t.Errorf("%s: dimension %q is not sent with any of %v", where, d[1], metrics)
		}
	}
}

// checkPromQL checks that every metric an expression names is exposed and
// every label it uses is a label of one of them.
func checkPromQL(t *testing.T, prom names, where, expr, legend string) {
	t.Helper()
	expr = promRuleRE.ReplaceAllString(expr, "")
	var metrics []string
	for _, m := range promNameRE.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if base, ok := strings.CutSuffix(name, "_bucket"); ok && prom[base] != nil {
			name = base
		}
		if prom[name] == nil {
			t.Errorf("%s: metric %q is not exposed (exposed: %v)", where, m[1], keys(prom))
		}
		metrics = append(metrics, name)
	}
	var labels []string
	for _, m := range promByRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			labels = append(labels, strings.TrimSpace(l))
		}
	}
	for _, m := range promMatchRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range promLabelRE.FindAllStringSubmatch(m[1], -1) {
			labels = append(labels, l[1])
		}
	}
	for _, m := range legendRE.FindAllStringSubmatch(legend, -1) {
		labels = append(labels, m[1])
	}
	for _, l := range labels {
		if l == "le" || l == "" {
			continue
		}
		ok := false
		for _, m := range metrics {
			ok = ok || prom[m][l]
		}
		if !ok {
			t.Errorf("%s: label %q is not on any of %v", where, l, metrics)
		}
	}
}

func TestAssetsMatchEmittedNames(t *testing.T) {
	prom, ai := emitted(t)

	queries := kqlQueries(t)
	want := []string{"budget_breaches", "cost_burndown", "failing_tools", "healing_signals", "slo_compliance", "task_latency"}
	if got := keys(queries); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("queries.kql has %v, want %v", got, want)
	}
	for name, q := range queries {
		checkKQL(t, ai, "queries.kql "+name, q)
	}

	var wb struct {
		Version string `json:"version"`
		Items   []struct {
			Type    int    `json:"type"`
			Name    string `json:"name"`
			Content struct {
				Query string `json:"query"`
				Title string `json:"title"`
			} `json:"content"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(read(t, "workbook.json")), &wb); err != nil {
		t.Fatal(err)
	}
	tiles := 0
	for _, it := range wb.Items {
		if it.Type != 3 {
			continue
		}
		tiles++
		if strings.TrimSpace(it.Content.Query) != queries[it.Name] {
			t.Errorf("workbook tile %s differs from its query in queries.kql", it.Name)
		}
		checkKQL(t, ai, "workbook.json "+it.Name, it.Content.Query)
	}
	if wb.Version != "Notebook/1.0" || tiles != 6 {
		t.Errorf("workbook version %q with %d query tiles, want Notebook/1.0 with 6", wb.Version, tiles)
	}

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr         string `json:"expr"`
				LegendFormat string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(read(t, "grafana-dashboard.json")), &dash); err != nil {
		t.Fatal(err)
	}
	if len(dash.Panels) != 6 {
		t.Errorf("%d Grafana panels, want 6", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkPromQL(t, prom, "grafana "+p.Title, tg.Expr, tg.LegendFormat)
		}
	}
}

func TestBurnRateRules(t *testing.T) {
	prom, _ := emitted(t)
	src := read(t, "prometheus-rules.yaml")
	recorded := map[string]bool{}
	var alerts []string
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if r, ok := strings.CutPrefix(l, "- record: "); ok {
			recorded[r] = true
		}
		if e, ok := strings.CutPrefix(l, "expr: "); ok {
			checkPromQL(t, prom, "rule line "+itoa(i+1), e, "")
			if strings.Contains(lines[i-1], "alert:") {
				alerts = append(alerts, e)
			}
		}
	}
	for _, a := range alerts {
		for _, r := range promRuleRE.FindAllString(a, -1) {
			if !recorded[r] {
				t.Errorf("alert uses %s, which no rule records", r)
			}
		}
	}
	want := []string{
		"tenant:agent_task_error_ratio:rate1h > (14.4 * 0.01) and tenant:agent_task_error_ratio:rate5m > (14.4 * 0.01)",
		"tenant:agent_task_error_ratio:rate6h > (6 * 0.01) and tenant:agent_task_error_ratio:rate30m > (6 * 0.01)",
		"tenant:agent_task_error_ratio:rate3d > (1 * 0.01) and tenant:agent_task_error_ratio:rate6h > (1 * 0.01)",
	}
	if strings.Join(alerts, "\n") != strings.Join(want, "\n") {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(alerts, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{"5m", "30m", "1h", "6h", "3d"} {
		if !recorded["tenant:agent_task_error_ratio:rate"+w] {
			t.Errorf("no recording rule for the %s window", w)
		}
	}
}
