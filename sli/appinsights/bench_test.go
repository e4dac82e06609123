package appinsights_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmops-go/llmops/sli/appinsights"
)

// batch50 is one collection of 50 data points: 20 counter points, 20
// histogram points and 10 gauge points, each with tenant and model.
func batch50() *metricdata.ResourceMetrics {
	now := time.Now()
	attrs := func(i int) attribute.Set {
		return attribute.NewSet(attribute.String("tenant", fmt.Sprintf("tenant-%02d", i)), attribute.String("model", "gpt-4o"))
	}
	var sums []metricdata.DataPoint[int64]
	var hists []metricdata.HistogramDataPoint[float64]
	var gauges []metricdata.DataPoint[float64]
	for i := 0; i < 20; i++ {
		sums = append(sums, metricdata.DataPoint[int64]{Attributes: attrs(i), Time: now, Value: int64(i + 1)})
		hists = append(hists, metricdata.HistogramDataPoint[float64]{
			Attributes: attrs(i), Time: now, Count: 10, Sum: 12.5,
			Min: metricdata.NewExtrema(0.1), Max: metricdata.NewExtrema(4.2),
			Bounds: nil, BucketCounts: []uint64{10},
		})
	}
	for i := 0; i < 10; i++ {
		gauges = append(gauges, metricdata.DataPoint[float64]{Attributes: attrs(i), Time: now, Value: float64(i)})
	}
	return &metricdata.ResourceMetrics{
		Resource: testResource(),
		ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "agent.task.success", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: sums}},
			{Name: "agent.task.latency", Data: metricdata.Histogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: hists}},
			{Name: "agent.queue.depth", Data: metricdata.Gauge[float64]{DataPoints: gauges}},
		}}},
	}
}

// BenchmarkExport50 measures Export of 50 data points end to end:
// conversion, JSON encoding, gzip and one POST to a loopback endpoint
// (Export returns once the endpoint has answered).
func BenchmarkExport50(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	exp, err := appinsights.New("InstrumentationKey=" + testIKey + ";IngestionEndpoint=" + srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	rm := batch50()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.Export(ctx, rm); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
