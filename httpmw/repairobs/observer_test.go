package repairobs_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/httpmw/repairobs"
	"github.com/llmops-go/llmops/repair"
	"github.com/llmops-go/llmops/sli"
)

func count(t *testing.T, reader *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					n += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					n += int64(p.Count)
				}
			}
		}
	}
	return n
}

func TestObserver(t *testing.T) {
	tests := []struct {
		name      string
		charge    bool
		wantCost  int64
		wantCalls int64
	}{
		{"attempts only", false, 0, 0},
		{"charging model calls", true, 1000*2500000/1e6 + 100*10000000/1e6, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			rec, err := sli.New(sli.WithMeterProvider(mp))
			if err != nil {
				t.Fatal(err)
			}
			ctx, task := httpmw.StartTask(context.Background(), "acme", rec.RateCard())
			o := repairobs.Observer(rec, tt.charge)
			o.Attempt(ctx, repair.AttemptEvent{Tool: "search", Attempt: 0, Kind: repair.KindLocal, Outcome: repair.OutcomeInvalid})
			o.Attempt(ctx, repair.AttemptEvent{Tool: "search", Attempt: 1, Kind: repair.KindModel, Outcome: repair.OutcomeRepaired})
			o.ModelCall(ctx, repair.ModelCallEvent{Tool: "search", Attempt: 1, Model: "gpt-4o",
				Usage: repair.Usage{InputTokens: 1000, OutputTokens: 100}, Duration: time.Second})
			if got := count(t, reader, sli.MetricRepairRetry); got != 2 {
				t.Fatalf("%s = %d, want 2", sli.MetricRepairRetry, got)
			}
			if got := count(t, reader, sli.MetricGenAIOperationDuration); got != tt.wantCalls {
				t.Fatalf("model calls recorded %d, want %d", got, tt.wantCalls)
			}
			if task.CostMicroUSD() != tt.wantCost {
				t.Fatalf("task cost %d, want %d", task.CostMicroUSD(), tt.wantCost)
			}
		})
	}
}
