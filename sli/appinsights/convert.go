package appinsights

import (
	"math"
	"time"

	aisdk "github.com/microsoft/ApplicationInsights-Go/appinsights"
	"github.com/microsoft/ApplicationInsights-Go/appinsights/contracts"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Resource attributes mapped to Application Insights context tags.
const (
	attrServiceName       = "service.name"
	attrServiceNamespace  = "service.namespace"
	attrServiceInstanceID = "service.instance.id"
)

// batch converts the data points of one Export call into telemetry items.
type batch struct {
	tags      map[string]string    // context tags derived from the resource
	resDims   []attribute.KeyValue // resource attributes copied into customDimensions
	nonFinite int                  // points skipped for a NaN or infinite value
}

func newBatch(res *resource.Resource, dimKeys []string) *batch {
	b := &batch{}
	if res == nil {
		return b
	}
	set := res.Set()
	if name, ok := set.Value(attrServiceName); ok && name.Emit() != "" {
		role := name.Emit()
		if ns, ok := set.Value(attrServiceNamespace); ok && ns.Emit() != "" {
			role = ns.Emit() + "." + role
		}
		b.tags = map[string]string{contracts.CloudRole: role}
	}
	if id, ok := set.Value(attrServiceInstanceID); ok && id.Emit() != "" {
		if b.tags == nil {
			b.tags = make(map[string]string, 1)
		}
		b.tags[contracts.CloudRoleInstance] = id.Emit()
	}
	for _, k := range dimKeys {
		if v, ok := set.Value(attribute.Key(k)); ok {
			b.resDims = append(b.resDims, attribute.KeyValue{Key: attribute.Key(k), Value: v})
		}
	}
	return b
}

// metric tracks one item per data point of m.
func (b *batch) metric(m metricdata.Metrics, track func(aisdk.Telemetry)) {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		singles(b, m.Name, d.DataPoints, track)
	case metricdata.Sum[float64]:
		singles(b, m.Name, d.DataPoints, track)
	case metricdata.Gauge[int64]:
		singles(b, m.Name, d.DataPoints, track)
	case metricdata.Gauge[float64]:
		singles(b, m.Name, d.DataPoints, track)
	case metricdata.Histogram[int64]:
		histograms(b, m.Name, d.DataPoints, track)
	case metricdata.Histogram[float64]:
		histograms(b, m.Name, d.DataPoints, track)
	case metricdata.ExponentialHistogram[int64]:
		expHistograms(b, m.Name, d.DataPoints, track)
	case metricdata.ExponentialHistogram[float64]:
		expHistograms(b, m.Name, d.DataPoints, track)
	case metricdata.Summary:
		for _, dp := range d.DataPoints {
			if dp.Count == 0 {
				continue
			}
			lo, hi := mean(dp.Sum, dp.Count), mean(dp.Sum, dp.Count)
			for _, q := range dp.QuantileValues {
				switch q.Quantile {
				case 0:
					lo = q.Value
				case 1:
					hi = q.Value
				}
			}
			b.emit(track, m.Name, dp.Time, dp.Attributes, dp.Sum, dp.Count, lo, hi)
		}
	}
}

// singles handles sums and gauges: one value per point, count 1.
func singles[N int64 | float64](b *batch, name string, pts []metricdata.DataPoint[N], track func(aisdk.Telemetry)) {
	for _, dp := range pts {
		v := float64(dp.Value)
		b.emit(track, name, dp.Time, dp.Attributes, v, 1, v, v)
	}
}

func histograms[N int64 | float64](b *batch, name string, pts []metricdata.HistogramDataPoint[N], track func(aisdk.Telemetry)) {
	for _, dp := range pts {
		if dp.Count == 0 {
			continue
		}
		sum := float64(dp.Sum)
		lo, hi := extrema(dp.Min, dp.Max, sum, dp.Count)
		b.emit(track, name, dp.Time, dp.Attributes, sum, dp.Count, lo, hi)
	}
}

func expHistograms[N int64 | float64](b *batch, name string, pts []metricdata.ExponentialHistogramDataPoint[N], track func(aisdk.Telemetry)) {
	for _, dp := range pts {
		if dp.Count == 0 {
			continue
		}
		sum := float64(dp.Sum)
		lo, hi := extrema(dp.Min, dp.Max, sum, dp.Count)
		b.emit(track, name, dp.Time, dp.Attributes, sum, dp.Count, lo, hi)
	}
}

// extrema returns the recorded min and max, or the mean for a bound that was
// not recorded (an aggregation with NoMinMax).
func extrema[N int64 | float64](minE, maxE metricdata.Extrema[N], sum float64, count uint64) (float64, float64) {
	lo, hi := mean(sum, count), mean(sum, count)
	if v, ok := minE.Value(); ok {
		lo = float64(v)
	}
	if v, ok := maxE.Value(); ok {
		hi = float64(v)
	}
	return lo, hi
}

func mean(sum float64, count uint64) float64 { return sum / float64(count) }

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// emit tracks one aggregated metric item.
func (b *batch) emit(track func(aisdk.Telemetry), name string, t time.Time, attrs attribute.Set, sum float64, count uint64, lo, hi float64) {
	if !finite(sum) || !finite(lo) || !finite(hi) {
		b.nonFinite++
		return
	}
	n := count
	if n > math.MaxInt32 {
		n = math.MaxInt32 // the wire contract's count is an int32
	}
	item := &aisdk.AggregateMetricTelemetry{
		Name:  name,
		Value: sum,
		Count: int(n),
		Min:   lo,
		Max:   hi,
	}
	item.Timestamp = t
	if len(b.tags) > 0 {
		item.Tags = make(contracts.ContextTags, len(b.tags))
		for k, v := range b.tags {
			item.Tags[k] = v
		}
	}
	if nd := len(b.resDims) + attrs.Len(); nd > 0 {
		item.Properties = make(map[string]string, nd)
		for _, kv := range b.resDims {
			item.Properties[string(kv.Key)] = kv.Value.Emit()
		}
		for it := attrs.Iter(); it.Next(); {
			kv := it.Attribute()
			item.Properties[string(kv.Key)] = kv.Value.Emit()
		}
	}
	track(item)
}
