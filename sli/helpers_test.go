package sli

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// newTestRecorder returns a Recorder on a real SDK MeterProvider with a
// ManualReader.
func newTestRecorder(t testing.TB, opts ...Option) (*Recorder, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r, err := New(append([]Option{WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, reader
}

// collect returns the metrics of the sli scope by name.
func collect(t testing.TB, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Fatalf("unexpected scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrsOf(kv ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kv...) }

// sumPoints returns the data points of a sum metric keyed by attribute
// set encoding.
func intSum(t testing.TB, m metricdata.Metrics) map[attribute.Distinct]metricdata.DataPoint[int64] {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: data is %T, want Sum[int64]", m.Name, m.Data)
	}
	if !s.IsMonotonic || s.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("%s: want a monotonic cumulative sum", m.Name)
	}
	out := map[attribute.Distinct]metricdata.DataPoint[int64]{}
	for _, dp := range s.DataPoints {
		out[dp.Attributes.Equivalent()] = dp
	}
	return out
}

func floatSum(t testing.TB, m metricdata.Metrics) map[attribute.Distinct]metricdata.DataPoint[float64] {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[float64])
	if !ok {
		t.Fatalf("%s: data is %T, want Sum[float64]", m.Name, m.Data)
	}
	if !s.IsMonotonic {
		t.Fatalf("%s: want a monotonic sum", m.Name)
	}
	out := map[attribute.Distinct]metricdata.DataPoint[float64]{}
	for _, dp := range s.DataPoints {
		out[dp.Attributes.Equivalent()] = dp
	}
	return out
}

func histPoints[N int64 | float64](t testing.TB, m metricdata.Metrics) map[attribute.Distinct]metricdata.HistogramDataPoint[N] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[N])
	if !ok {
		t.Fatalf("%s: data is %T, want Histogram", m.Name, m.Data)
	}
	out := map[attribute.Distinct]metricdata.HistogramDataPoint[N]{}
	for _, dp := range h.DataPoints {
		out[dp.Attributes.Equivalent()] = dp
	}
	return out
}

// wantInt asserts that the sum metric name has exactly the given points.
func wantInt(t testing.TB, ms map[string]metricdata.Metrics, name, unit string, want map[attribute.Set]int64) {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("metric %s not collected", name)
	}
	if m.Unit != unit {
		t.Errorf("%s: unit %q, want %q", name, m.Unit, unit)
	}
	if m.Description == "" {
		t.Errorf("%s: no description", name)
	}
	got := intSum(t, m)
	if len(got) != len(want) {
		t.Errorf("%s: %d series, want %d: %v", name, len(got), len(want), got)
	}
	for set, v := range want {
		dp, ok := got[set.Equivalent()]
		if !ok {
			t.Errorf("%s: no series %v", name, set.ToSlice())
			continue
		}
		if dp.Value != v {
			t.Errorf("%s%v = %d, want %d", name, set.ToSlice(), dp.Value, v)
		}
	}
}

func dk(s attribute.Set) attribute.Distinct { return s.Equivalent() }
