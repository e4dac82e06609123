package appinsights

import (
	"bytes"
	"encoding/json"
	"math"
	"time"

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

// sdkVersion is the ai.internal.sdkVersion tag: the Application Insights Go
// library ("go") at the version whose contracts this package sends.
const sdkVersion = "go:0.4.4"

// envelopeTime is the layout the Application Insights library uses for an
// envelope's time (UTC, microseconds, trailing Z).
const envelopeTime = "2006-01-02T15:04:05.999999Z"

// defaultTags returns the context tags the Application Insights library puts
// on every item (its TelemetryContext): SDK version, OS, and the host name
// as device id and cloud_RoleInstance.
func defaultTags(goos, hostname string) map[string]string {
	tags := contracts.ContextTags{}
	tags.Internal().SetSdkVersion(sdkVersion)
	tags.Device().SetOsVersion(goos)
	if hostname != "" {
		tags.Device().SetId(hostname)
		tags.Cloud().SetRoleInstance(hostname)
	}
	return tags
}

// batch converts the data points of one Export call into newline-delimited
// JSON envelopes, the body the ingestion endpoint takes (before gzip).
type batch struct {
	iKey      string
	envName   string               // envelope name, derived from the key
	tags      map[string]string    // context tags, shared by every envelope
	resDims   []attribute.KeyValue // resource attributes copied into customDimensions
	now       func() time.Time     // time for a point without one
	buf       bytes.Buffer         // encoded envelopes, one per line
	enc       *json.Encoder        // writes to buf
	ends      []int                // ends[i] is the offset just past line i
	nonFinite int                  // points skipped for a NaN or infinite value
}

func newBatch(iKey string, base map[string]string, res *resource.Resource, dimKeys []string, now func() time.Time) *batch {
	md := contracts.MetricData{}
	b := &batch{iKey: iKey, now: now}
	b.envName = md.EnvelopeName(stripDashes(iKey))
	b.enc = json.NewEncoder(&b.buf)
	b.tags = make(map[string]string, len(base)+2)
	for k, v := range base {
		b.tags[k] = v
	}
	if res != nil {
		set := res.Set()
		if name, ok := set.Value(attrServiceName); ok && name.String() != "" {
			role := name.String()
			if ns, ok := set.Value(attrServiceNamespace); ok && ns.String() != "" {
				role = ns.String() + "." + role
			}
			b.tags[contracts.CloudRole] = role
		}
		if id, ok := set.Value(attrServiceInstanceID); ok && id.String() != "" {
			b.tags[contracts.CloudRoleInstance] = id.String()
		}
		for _, k := range dimKeys {
			if v, ok := set.Value(attribute.Key(k)); ok {
				b.resDims = append(b.resDims, attribute.KeyValue{Key: attribute.Key(k), Value: v})
			}
		}
	}
	contracts.SanitizeTags(b.tags) // truncates over-long values, as the library does
	return b
}

func stripDashes(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// lines returns the encoded envelopes, one slice per item (each ending with
// a newline). The slices share the batch's buffer.
func (b *batch) lines() [][]byte {
	out := make([][]byte, len(b.ends))
	data := b.buf.Bytes()
	start := 0
	for i, end := range b.ends {
		out[i] = data[start:end:end]
		start = end
	}
	return out
}

// metric encodes one item per data point of m.
func (b *batch) metric(m metricdata.Metrics) {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		singles(b, m.Name, d.DataPoints)
	case metricdata.Sum[float64]:
		singles(b, m.Name, d.DataPoints)
	case metricdata.Gauge[int64]:
		singles(b, m.Name, d.DataPoints)
	case metricdata.Gauge[float64]:
		singles(b, m.Name, d.DataPoints)
	case metricdata.Histogram[int64]:
		histograms(b, m.Name, d.DataPoints)
	case metricdata.Histogram[float64]:
		histograms(b, m.Name, d.DataPoints)
	case metricdata.ExponentialHistogram[int64]:
		expHistograms(b, m.Name, d.DataPoints)
	case metricdata.ExponentialHistogram[float64]:
		expHistograms(b, m.Name, d.DataPoints)
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
			b.emit(m.Name, dp.Time, dp.Attributes, dp.Sum, dp.Count, lo, hi)
		}
	}
}

// singles handles sums and gauges: one value per point, count 1.
func singles[N int64 | float64](b *batch, name string, pts []metricdata.DataPoint[N]) {
	for _, dp := range pts {
		v := float64(dp.Value)
		b.emit(name, dp.Time, dp.Attributes, v, 1, v, v)
	}
}

func histograms[N int64 | float64](b *batch, name string, pts []metricdata.HistogramDataPoint[N]) {
	for _, dp := range pts {
		if dp.Count == 0 {
			continue
		}
		sum := float64(dp.Sum)
		lo, hi := extrema(dp.Min, dp.Max, sum, dp.Count)
		b.emit(name, dp.Time, dp.Attributes, sum, dp.Count, lo, hi)
	}
}

func expHistograms[N int64 | float64](b *batch, name string, pts []metricdata.ExponentialHistogramDataPoint[N]) {
	for _, dp := range pts {
		if dp.Count == 0 {
			continue
		}
		sum := float64(dp.Sum)
		lo, hi := extrema(dp.Min, dp.Max, sum, dp.Count)
		b.emit(name, dp.Time, dp.Attributes, sum, dp.Count, lo, hi)
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

// emit encodes one aggregated metric item: the envelope the Application
// Insights library builds for an AggregateMetricTelemetry (MetricData with a
// single DataPoint of kind Aggregation; StdDev is not known and stays 0).
func (b *batch) emit(name string, t time.Time, attrs attribute.Set, sum float64, count uint64, lo, hi float64) {
	if !finite(sum) || !finite(lo) || !finite(hi) {
		b.nonFinite++
		return
	}
	n := count
	if n > math.MaxInt32 {
		n = math.MaxInt32 // the wire contract's count is an int32
	}
	if t.IsZero() {
		t = b.now()
	}
	dp := contracts.DataPoint{
		Name:  name,
		Kind:  contracts.Aggregation,
		Value: sum,
		Count: int(n),
		Min:   lo,
		Max:   hi,
	}
	md := contracts.NewMetricData()
	md.Metrics = []*contracts.DataPoint{&dp}
	if nd := len(b.resDims) + attrs.Len(); nd > 0 {
		md.Properties = make(map[string]string, nd)
		for _, kv := range b.resDims {
			md.Properties[string(kv.Key)] = kv.Value.String()
		}
		for it := attrs.Iter(); it.Next(); {
			kv := it.Attribute()
			md.Properties[string(kv.Key)] = kv.Value.String()
		}
	}
	md.Sanitize() // truncates over-long names and dimensions, as the library does

	env := contracts.NewEnvelope()
	env.Name = b.envName
	env.Time = t.UTC().Format(envelopeTime)
	env.IKey = b.iKey
	env.Tags = b.tags
	env.Data = &contracts.Data{Base: contracts.Base{BaseType: md.BaseType()}, BaseData: md}

	start := b.buf.Len()
	if err := b.enc.Encode(env); err != nil {
		// Finite numbers and strings always encode; keep the body valid
		// regardless.
		b.buf.Truncate(start)
		return
	}
	b.ends = append(b.ends, b.buf.Len())
}
