package service

import (
	"html/template"
	"net/http"
	"sort"
	"time"
)

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmops agent {{.Instance}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
code{background:#f4f4f4;padding:0 .2em}</style></head><body>
<h1>llmops agent</h1>
<p>Instance <code>{{.Instance}}</code>, version {{.Version}}, up {{.Uptime}}.</p>
<h2>Running</h2>
<table>
<tr><th>model</th><td>{{.Backend}} — primary <code>{{.Primary}}</code>, downshift <code>{{.Downshift}}</code>{{if .Stream}}, streaming{{end}}</td></tr>
<tr><th>budgets</th><td>{{.Store}}, period {{.Period}}, default {{.DefaultUSD}} USD per tenant, downshift at {{.DownshiftAt}} %</td></tr>
<tr><th>chaos</th><td>{{.Chaos}}</td></tr>
<tr><th>metrics</th><td>{{range $i, $e := .Exporters}}{{if $i}}, {{end}}{{$e}}{{end}}</td></tr>
<tr><th>rate card</th><td>{{.RateCard}}</td></tr>
</table>
<h2>Active faults</h2>
{{if .FaultsError}}<p>Faults unavailable: {{.FaultsError}}</p>{{else if .Faults}}
<table><tr><th>mode</th><th>target</th><th>tenant</th><th>probability</th><th>expires in</th></tr>
{{range .Faults}}<tr><td>{{.Mode}}</td><td>{{.Target}}</td><td>{{if .Tenant}}{{.Tenant}}{{else}}all{{end}}</td><td>{{.Probability}}</td><td>{{.Remaining}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2>Tool breakers</h2>
<table><tr><th>chain</th><th>step</th><th>breaker</th></tr>
{{range .Breakers}}<tr><td>{{.Chain}}</td><td>{{.Step}}</td><td>{{.State}}</td></tr>
{{end}}</table>
<h2>Links</h2>
<ul>
<li><a href="/health">/health</a> — status, instance id, version</li>
<li><a href="/metrics">/metrics</a> — Prometheus metrics</li>
<li><code>POST /chat</code> — <code>{"prompt": "..."}</code>, tenant from the <code>{{.TenantHeader}}</code> header</li>
<li><code>/admin/chaos</code> — chaos admin API (bearer token)</li>
<li><code>/admin/budget/{tenant}</code> — a tenant's budget (bearer token)</li>
</ul>
</body></html>
`))

type faultRow struct {
	Mode, Target, Tenant string
	Probability          float64
	Remaining            time.Duration
}

type breakerRow struct{ Chain, Step, State string }

func (s *Service) serveStatus(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	data := map[string]any{
		"Instance":     s.cfg.InstanceID,
		"Version":      Version,
		"Uptime":       now.Sub(s.started).Round(time.Second),
		"Primary":      s.cfg.PrimaryModel,
		"Downshift":    s.cfg.DownshiftModel,
		"Stream":       s.cfg.Stream,
		"Period":       s.enforcer.Period().String(),
		"DefaultUSD":   float64(s.cfg.Budgets.DefaultMicroUSD) / 1e6,
		"DownshiftAt":  s.cfg.Budgets.DownshiftAtPercent,
		"Exporters":    s.tel.exporters,
		"RateCard":     s.card.Version(),
		"TenantHeader": s.cfg.TenantHeader,
	}
	if s.sim != nil {
		data["Backend"] = "simulated model at " + s.llmURL
	} else {
		data["Backend"] = "OpenAI-compatible endpoint " + endpointHost(s.llmURL)
	}
	if s.redis != nil {
		data["Store"], data["Chaos"] = "Redis", "fleet-wide through Redis"
	} else {
		data["Store"], data["Chaos"] = "in memory", "this instance"
	}
	faults, err := s.chaosCtl.Faults(r.Context())
	if err != nil {
		data["FaultsError"] = err.Error()
	}
	rows := make([]faultRow, 0, len(faults))
	for _, f := range faults {
		rows = append(rows, faultRow{Mode: f.Mode.String(), Target: f.Target.String(), Tenant: f.Tenant,
			Probability: f.Probability, Remaining: f.Remaining(now).Round(time.Second)})
	}
	data["Faults"] = rows
	var breakers []breakerRow
	chains := s.tools.Breakers()
	names := make([]string, 0, len(chains))
	for n := range chains {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, st := range chains[n] {
			breakers = append(breakers, breakerRow{Chain: n, Step: st.Tool, State: st.State.String()})
		}
	}
	data["Breakers"] = breakers
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, data); err != nil {
		http.Error(w, "status page failed", http.StatusInternalServerError)
	}
}
