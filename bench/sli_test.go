//go:build unix

package bench

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/llmops-go/llmops/sli"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkSLIRecordTask compares recording one completed task (success,
// latency, tokens in, tokens out, cost) through sli.Recorder with the same
// five updates made through raw OTel instruments with a fresh attribute set
// per call — what hand-written instrumentation usually does. Both run on
// the real OTel SDK with a ManualReader. Report the ratio sli/raw-otel.
//
// otel-prebuilt is the floor: the same five updates with attribute sets
// built once, outside the loop, so it measures the SDK alone; sli minus
// otel-prebuilt is what the Recorder adds (cardinality guard and cache
// lookups).
func BenchmarkSLIRecordTask(b *testing.B) {
	ctx := context.Background()
	const tenant, model = "acme", "gpt-4o"
	const dur = 1200 * time.Millisecond
	u := sli.Usage{InputTokens: 1200, CachedInputTokens: 200, OutputTokens: 300}
	const costMicro = 5750

	b.Run("sli", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer mp.Shutdown(ctx)
		r, err := sli.New(sli.WithMeterProvider(mp))
		if err != nil {
			b.Fatal(err)
		}
		task := sli.Task{Tenant: tenant, Model: model, Duration: dur, Success: true, Usage: u, CostMicroUSD: costMicro}
		b.ReportAllocs()
		defer sliReportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.RecordTask(ctx, task)
			}
		})
	})

	b.Run("raw-otel", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer mp.Shutdown(ctx)
		success, latency, tokIn, tokOut, cost := sliRawInstruments(mp.Meter("raw"))
		b.ReportAllocs()
		defer sliReportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				base := metric.WithAttributes(attribute.String("tenant", tenant), attribute.String("model", model))
				success.Add(ctx, 1, base)
				latency.Record(ctx, dur.Seconds(), metric.WithAttributes(attribute.String("tenant", tenant),
					attribute.String("model", model), attribute.String("outcome", "success")))
				tokIn.Add(ctx, u.InputTokens, base)
				tokOut.Add(ctx, u.OutputTokens, base)
				cost.Add(ctx, float64(costMicro)/1e6, metric.WithAttributes(attribute.String("tenant", tenant),
					attribute.String("model", model), attribute.String("rate_card.version", "builtin-2026-11-01")))
			}
		})
	})

	b.Run("otel-prebuilt", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer mp.Shutdown(ctx)
		success, latency, tokIn, tokOut, cost := sliRawInstruments(mp.Meter("floor"))
		tm := []attribute.KeyValue{attribute.String("tenant", tenant), attribute.String("model", model)}
		base := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(tm...))}
		lat := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(append(tm, attribute.String("outcome", "success"))...))}
		costOpts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(tm, attribute.String("rate_card.version", "builtin-2026-11-01"))...))}
		b.ReportAllocs()
		defer sliReportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				success.Add(ctx, 1, base...)
				latency.Record(ctx, dur.Seconds(), lat...)
				tokIn.Add(ctx, u.InputTokens, base...)
				tokOut.Add(ctx, u.OutputTokens, base...)
				cost.Add(ctx, float64(costMicro)/1e6, costOpts...)
			}
		})
	})
}

// sliRawInstruments creates on m the five instruments hand-written
// instrumentation of a task would use, named and bucketed as sli.Recorder's.
func sliRawInstruments(m metric.Meter) (success metric.Int64Counter, latency metric.Float64Histogram,
	tokIn, tokOut metric.Int64Counter, cost metric.Float64Counter) {
	success, _ = m.Int64Counter("agent.task.success", metric.WithUnit("{task}"))
	latency, _ = m.Float64Histogram("agent.task.latency", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(sli.TaskLatencyBuckets()...))
	tokIn, _ = m.Int64Counter("agent.tokens.in", metric.WithUnit("{token}"))
	tokOut, _ = m.Int64Counter("agent.tokens.out", metric.WithUnit("{token}"))
	cost, _ = m.Float64Counter("agent.cost.usd", metric.WithUnit("USD"))
	return success, latency, tokIn, tokOut, cost
}

// sliReportCPU reports the process CPU time per operation ("cpu-ns/op")
// between the call and the returned function's call. Unlike ns/op it does
// not grow while the process waits for a CPU on a loaded machine; with
// RunParallel on 2 cores it is about twice ns/op on an idle one.
func sliReportCPU(b *testing.B) func() {
	cpu := func() (time.Duration, bool) {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, false
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
	}
	start, ok := cpu()
	return func() {
		end, ok2 := cpu()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
