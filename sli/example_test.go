package sli_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/llmops-go/llmops/sli"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func ExampleRecorder() {
	// In production the MeterProvider exports (OTLP, Prometheus, App
	// Insights); here a ManualReader lets us read the metrics back.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec, err := sli.New(sli.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	usage := sli.Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}
	cost, err := rec.RateCard().Cost("gpt-4o-2024-08-06", usage)
	if err != nil {
		panic(err)
	}
	rec.RecordTask(ctx, sli.Task{Tenant: "acme", Model: "gpt-4o", Duration: 1500 * time.Millisecond,
		Success: true, Usage: usage, CostMicroUSD: cost})
	rec.RecordTask(ctx, sli.Task{Tenant: "acme", Model: "gpt-4o", Duration: 30 * time.Second,
		FailureReason: "tool_failure"})
	rec.RecordToolOutcome(ctx, "acme", "web_search", sli.ToolFallback)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	enc := attribute.DefaultEncoder()
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				fmt.Printf("%s %d %s\n", m.Name, dp.Value, dp.Attributes.Encoded(enc))
			}
		case metricdata.Sum[float64]:
			for _, dp := range d.DataPoints {
				fmt.Printf("%s %.6f %s\n", m.Name, dp.Value, dp.Attributes.Encoded(enc))
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				fmt.Printf("%s count=%d sum=%g %s\n", m.Name, dp.Count, dp.Sum, dp.Attributes.Encoded(enc))
			}
		}
	}
	// Unordered output:
	// agent.task.success 1 model=gpt-4o,tenant=acme
	// agent.task.failure 1 model=gpt-4o,reason=tool_failure,tenant=acme
	// agent.task.latency count=1 sum=1.5 model=gpt-4o,outcome=success,tenant=acme
	// agent.task.latency count=1 sum=30 model=gpt-4o,outcome=failure,tenant=acme
	// agent.tokens.in 1200 model=gpt-4o,tenant=acme
	// agent.tokens.out 300 model=gpt-4o,tenant=acme
	// agent.cost.usd 0.005750 model=gpt-4o,rate_card.version=builtin-2026-11-01,tenant=acme
	// agent.tool.success 1 status=fallback,tenant=acme,tool=web_search
}

func ExampleRateCard_Cost() {
	card, err := sli.DefaultRateCard(sli.WithAlias("prod-chat", "gpt-4o-mini")) // an Azure deployment name
	if err != nil {
		panic(err)
	}
	u := sli.Usage{InputTokens: 10_000, CachedInputTokens: 4_000, OutputTokens: 1_000}
	for _, model := range []string{"gpt-4o-mini-2024-07-18", "prod-chat", "claude-sonnet-4-5-20250929", "my-finetune"} {
		micro, err := card.Cost(model, u)
		if errors.Is(err, sli.ErrUnknownModel) {
			fmt.Printf("%-27s refused: %v\n", model, err)
			continue
		}
		fmt.Printf("%-27s %d µUSD ($%.6f)\n", model, micro, float64(micro)/1e6)
	}
	// Output:
	// gpt-4o-mini-2024-07-18      1800 µUSD ($0.001800)
	// prod-chat                   1800 µUSD ($0.001800)
	// claude-sonnet-4-5-20250929  34200 µUSD ($0.034200)
	// my-finetune                 refused: sli: unknown model "my-finetune"
}

func ExampleLoadRateCard() {
	const card = `{
	  "version": "acme-2026-11",
	  "effective": "2026-11-01",
	  "models": {"gpt-4.1": {"input": 2.00, "cached_input": 0.50, "output": 8.00}},
	  "aliases": {"eu-prod-gpt41": "gpt-4.1"},
	  "fallback": {"input": 15, "output": 60}
	}`
	rc, err := sli.LoadRateCard(strings.NewReader(card))
	if err != nil {
		panic(err)
	}
	q, _ := rc.Quote("eu-prod-gpt41", sli.Usage{InputTokens: 1_000_000, OutputTokens: 1_000})
	fmt.Println(rc.Version(), q.Model, q.MicroUSD, q.Fallback)
	q, _ = rc.Quote("some-new-model", sli.Usage{InputTokens: 1_000_000})
	fmt.Println(q.MicroUSD, q.Fallback)
	// Output:
	// acme-2026-11 gpt-4.1 2008000 false
	// 15000000 true
}
