package sli

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
)

// BenchmarkRecordTask records one completed successful task (success,
// latency, tokens in and out, cost) on the real OTel SDK with a
// ManualReader. Target: at most 1 µs and 1 allocation per task.
func BenchmarkRecordTask(b *testing.B) {
	r, _ := newTestRecorder(b)
	ctx := context.Background()
	task := Task{Tenant: "acme", Model: "gpt-4o", Duration: 1200 * time.Millisecond, Success: true,
		Usage: Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}, CostMicroUSD: 5750}
	r.RecordTask(ctx, task)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.RecordTask(ctx, task)
		}
	})
}

// reportCPU reports the process CPU time per operation ("cpu-ns/op") of
// the benchmark between the call and the returned function's call: with
// RunParallel on 2 cores it is about twice ns/op on an idle machine, and it
// does not grow while the machine is overloaded.
func reportCPU(b *testing.B) func() {
	start, ok := processCPUTime()
	return func() {
		end, ok2 := processCPUTime()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkRecordTaskTenants spreads tasks over 64 tenants and 2 models, so
// goroutines rarely share a series.
func BenchmarkRecordTaskTenants(b *testing.B) {
	r, _ := newTestRecorder(b)
	ctx := context.Background()
	var tasks [128]Task
	for i := range tasks {
		tasks[i] = Task{Tenant: fmt.Sprintf("tenant-%d", i%64), Model: []string{"gpt-4o", "gpt-4o-mini"}[i/64],
			Duration: time.Duration(i) * 10 * time.Millisecond, Success: true,
			Usage: Usage{InputTokens: 1000, OutputTokens: 100}, CostMicroUSD: 3500}
		r.RecordTask(ctx, tasks[i])
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(37)
		for pb.Next() {
			i++
			r.RecordTask(ctx, tasks[i%uint32(len(tasks))])
		}
	})
}

// BenchmarkRecordModelCall records the two GenAI metrics for one call.
func BenchmarkRecordModelCall(b *testing.B) {
	r, _ := newTestRecorder(b)
	ctx := context.Background()
	call := ModelCall{Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
		Usage: Usage{InputTokens: 1200, OutputTokens: 300}, Duration: 800 * time.Millisecond}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.RecordModelCall(ctx, call)
		}
	})
}

// BenchmarkCost prices a call with a dated model name (normalized on every
// call).
func BenchmarkCost(b *testing.B) {
	card, err := DefaultRateCard()
	if err != nil {
		b.Fatal(err)
	}
	u := Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}
	for _, model := range []string{"gpt-4o", "gpt-4o-mini-2024-07-18"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := card.Cost(model, u); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRecordTaskOverhead measures what the Recorder itself adds per
// task (cardinality guard and cache lookups), with no-op instruments.
func BenchmarkRecordTaskOverhead(b *testing.B) {
	r, err := New(WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	task := Task{Tenant: "acme", Model: "gpt-4o", Duration: 1200 * time.Millisecond, Success: true,
		Usage: Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}, CostMicroUSD: 5750}
	r.RecordTask(ctx, task)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.RecordTask(ctx, task)
		}
	})
}
