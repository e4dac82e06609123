// Package observability holds the dashboards and alerts of the llmops agent
// SLIs; it has no Go code of its own besides the test that keeps them true to
// what the sli package and its Application Insights exporter emit.
//
// # Files
//
//	workbook.json            Application Insights workbook: six tiles over customMetrics
//	queries.kql              the same six KQL queries, each on its own
//	grafana-dashboard.json   Grafana dashboard over the Prometheus metrics, the same six panels
//	prometheus-rules.yaml    recording rules and multi-window, multi-burn-rate alerts for
//	                         the 99 % task-success SLO (14.4x 1h/5m, 6x 6h/30m, 1x 3d/6h)
//
// The six views are: SLO compliance (task success ratio per tenant), cost
// burn-down per tenant against its budget, top failing tools, task latency
// p50/p95/p99, budget breaches, and healing signals (repairs, downshifts,
// fallbacks, chaos injections).
//
// # Names
//
// In Application Insights the metric names are the instrument names
// unchanged (agent.task.success) and the dimensions the attribute keys
// (customDimensions["tenant"]). In Prometheus, through the OpenTelemetry
// Prometheus exporter, dots become underscores, counters get _total and
// units become suffixes: agent_task_success_total, agent_task_latency_seconds,
// agent_cost_usd_USD_total (unit USD), gen_ai_client_token_usage (unit
// {token}, no suffix); attribute keys become labels with dots replaced
// (rate_card.version becomes rate_card_version).
//
// Budgets are configuration, not metrics: the burn-down views take them from
// a datatable (KQL) or a dashboard variable (Grafana).
//
// The test records every SLI through a real sli.Recorder into the Prometheus
// exporter and into the Application Insights exporter (posting to a loopback
// ingestion server), and checks that every metric name and dimension or label
// the assets use is among what was emitted.
package observability
