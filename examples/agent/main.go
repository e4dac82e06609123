// Command agent is, for now, a demo of the llmops agent SLIs: it records a
// handful of simulated agent tasks with an sli.Recorder on the OpenTelemetry
// SDK, prices their token usage with the built-in rate card, and prints the
// collected metrics as a table. Nothing is served and no model is called:
// the tasks are simulated, the metrics are real.
//
//	go run ./examples/agent
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmops-go/llmops/sli"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

// call is one simulated model call of a task.
type call struct {
	model    string
	usage    sli.Usage
	duration time.Duration
	errType  string
}

// task is one simulated agent task.
type task struct {
	tenant   string
	model    string
	duration time.Duration
	failure  string // empty: success
	calls    []call
}

func run(ctx context.Context, out io.Writer) error {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	card, err := sli.DefaultRateCard()
	if err != nil {
		return err
	}
	rec, err := sli.New(sli.WithMeterProvider(mp), sli.WithRateCard(card))
	if err != nil {
		return err
	}

	tasks := []task{
		{tenant: "acme", model: "gpt-4o", duration: 1800 * time.Millisecond, calls: []call{
			{model: "gpt-4o-2024-08-06", usage: sli.Usage{InputTokens: 2400, CachedInputTokens: 1024, OutputTokens: 180}, duration: 900 * time.Millisecond},
			{model: "gpt-4o-2024-08-06", usage: sli.Usage{InputTokens: 2900, CachedInputTokens: 2048, OutputTokens: 420}, duration: 850 * time.Millisecond},
		}},
		{tenant: "acme", model: "gpt-4o", duration: 2600 * time.Millisecond, calls: []call{
			{model: "gpt-4o-2024-08-06", usage: sli.Usage{InputTokens: 3100, OutputTokens: 650}, duration: 2500 * time.Millisecond},
		}},
		// A tool outage the fallback chain could not absorb: the task fails.
		{tenant: "globex", model: "claude-sonnet-4-5", duration: 12 * time.Second, failure: "tool_failure", calls: []call{
			{model: "claude-sonnet-4-5-20250929", usage: sli.Usage{InputTokens: 5200, OutputTokens: 300}, duration: 3 * time.Second},
			{model: "claude-sonnet-4-5-20250929", duration: 60 * time.Millisecond, errType: "529"},
		}},
		// Over 80 % of its budget: served by the cheaper model.
		{tenant: "initech", model: "gpt-4o-mini", duration: 700 * time.Millisecond, calls: []call{
			{model: "gpt-4o-mini-2024-07-18", usage: sli.Usage{InputTokens: 1500, OutputTokens: 200}, duration: 650 * time.Millisecond},
		}},
	}

	for _, t := range tasks {
		var total sli.Usage
		var cost int64
		for _, c := range t.calls {
			rec.RecordModelCall(ctx, sli.ModelCall{Provider: provider(c.model), RequestModel: t.model,
				ResponseModel: responseModel(c), Usage: c.usage, Duration: c.duration, ErrorType: c.errType})
			micro, err := card.Cost(c.model, c.usage)
			if err != nil {
				return fmt.Errorf("pricing %s: %w", c.model, err)
			}
			cost += micro
			total = total.Add(c.usage)
		}
		rec.RecordTask(ctx, sli.Task{Tenant: t.tenant, Model: t.model, Duration: t.duration,
			Success: t.failure == "", FailureReason: t.failure, Usage: total, CostMicroUSD: cost})
	}

	// The healing signals around those tasks.
	rec.RecordToolOutcome(ctx, "acme", "web_search", sli.ToolSuccess)
	rec.RecordToolOutcome(ctx, "acme", "web_search", sli.ToolFallback)
	rec.RecordToolOutcome(ctx, "globex", "web_search", sli.ToolFailure)
	rec.RecordRepair(ctx, "calculator", 1, sli.RepairLocal, "repaired")
	rec.RecordRepair(ctx, "calculator", 2, sli.RepairModel, "repaired")
	rec.RecordBudgetBreach(ctx, "initech", sli.BreachDownshift)
	rec.RecordDownshift(ctx, "initech", "gpt-4o", "gpt-4o-mini")
	rec.RecordChaosInjected(ctx, "outage", "tool:web_search")

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return err
	}
	fmt.Fprintf(out, "llmops SLI demo: simulated agent tasks recorded with sli.Recorder (rate card %s, effective %s)\n\n",
		card.Version(), card.Effective().Format(time.DateOnly))
	return printTable(out, rm)
}

func provider(model string) string {
	if strings.HasPrefix(model, "claude") {
		return "anthropic"
	}
	return "openai"
}

func responseModel(c call) string {
	if c.errType != "" {
		return ""
	}
	return c.model
}

// printTable prints one row per metric data point, sorted by metric name
// and attributes.
func printTable(out io.Writer, rm metricdata.ResourceMetrics) error {
	type row struct{ name, unit, value, attrs string }
	var rows []row
	enc := attribute.DefaultEncoder()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(value string, set attribute.Set) {
				rows = append(rows, row{m.Name, m.Unit, value, set.Encoded(enc)})
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(fmt.Sprint(dp.Value), dp.Attributes)
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					add(fmt.Sprintf("%.6f", dp.Value), dp.Attributes)
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					add(fmt.Sprintf("count=%d sum=%d", dp.Count, dp.Sum), dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					add(fmt.Sprintf("count=%d sum=%.3f", dp.Count, dp.Sum), dp.Attributes)
				}
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].name != rows[j].name {
			return rows[i].name < rows[j].name
		}
		return rows[i].attrs < rows[j].attrs
	})
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tUNIT\tVALUE\tATTRIBUTES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, r.unit, r.value, r.attrs)
	}
	return tw.Flush()
}
