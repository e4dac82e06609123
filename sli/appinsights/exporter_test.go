package appinsights_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/sli/appinsights"
)

func newExporter(t *testing.T, s *ingestServer, opts ...appinsights.Option) *appinsights.Exporter {
	t.Helper()
	exp, err := appinsights.New(s.connString(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// errorLog collects what the WithErrorHandler function receives.
type errorLog struct {
	mu   sync.Mutex
	errs []*appinsights.TransmitError
	bad  []error // values that are not a *TransmitError
}

func (l *errorLog) option() appinsights.Option {
	return appinsights.WithErrorHandler(func(err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		var terr *appinsights.TransmitError
		if errors.As(err, &terr) {
			l.errs = append(l.errs, terr)
		} else {
			l.bad = append(l.bad, err)
		}
	})
}

// statuses returns the status of every reported failure, in order.
func (l *errorLog) statuses(t *testing.T) []int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) > 0 {
		t.Errorf("error handler got non-TransmitErrors: %v", l.bad)
	}
	out := []int{}
	for _, e := range l.errs {
		out = append(out, e.StatusCode)
	}
	return out
}

// hostname is the default cloud_RoleInstance.
func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Skipf("no hostname: %v", err)
	}
	return h
}

func testResource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", "agent"),
		attribute.String("service.namespace", "llmops"),
		attribute.String("service.instance.id", "instance-1"),
		attribute.String("deployment.environment.name", "test"),
	)
}

func TestExportInstrumentsThroughMeterProvider(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv, appinsights.WithResourceDimensions("deployment.environment.name", "absent.key"))
	reader := sdkmetric.NewManualReader(
		sdkmetric.WithTemporalitySelector(exp.Temporality),
		sdkmetric.WithAggregationSelector(exp.Aggregation),
	)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(testResource()))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	meter := mp.Meter("github.com/llmops-go/llmops/sli")
	ctx := context.Background()

	success, _ := meter.Int64Counter("agent.task.success")
	cost, _ := meter.Float64Counter("agent.cost.usd")
	inflight, _ := meter.Int64UpDownCounter("agent.inflight")
	latency, _ := meter.Float64Histogram("agent.task.latency", metric.WithUnit("s"))
	tokens, _ := meter.Int64Histogram("agent.tokens.per_call")
	depth, _ := meter.Float64Gauge("agent.queue.depth")
	workers, _ := meter.Int64Gauge("agent.workers")

	acme := metric.WithAttributes(attribute.String("tenant", "acme"), attribute.String("model", "gpt-4o"))
	globex := metric.WithAttributes(attribute.String("tenant", "globex"), attribute.String("model", "gpt-4o"))

	export := func() {
		t.Helper()
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if err := exp.Export(ctx, &rm); err != nil {
			t.Fatalf("Export: %v", err)
		}
	}

	// Interval 1.
	success.Add(ctx, 2, acme)
	success.Add(ctx, 3, acme)
	success.Add(ctx, 1, globex)
	cost.Add(ctx, 0.25, acme)
	cost.Add(ctx, 0.5, acme)
	inflight.Add(ctx, 5)
	inflight.Add(ctx, -2)
	latency.Record(ctx, 0.5, acme)
	latency.Record(ctx, 1.5, acme)
	latency.Record(ctx, 4, acme)
	tokens.Record(ctx, 100, acme)
	tokens.Record(ctx, 300, acme)
	depth.Record(ctx, 7)
	depth.Record(ctx, 9.5)
	workers.Record(ctx, 4)
	export()
	if n := srv.requestCount(); n != 1 {
		t.Fatalf("%d request(s) after the first Export returned, want 1", n)
	}

	// Interval 2: counters report the new delta, the up-down counter its
	// current level, histograms only this interval's recordings.
	success.Add(ctx, 4, acme)
	inflight.Add(ctx, 1)
	latency.Record(ctx, 2, acme)
	export()

	// Export posts before it returns: one request per Export.
	if got, want := srv.requestSizes(), []int{8, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("items per request %v, want %v", got, want)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	envs := srv.envelopes()
	wantEnvelopeName := "Microsoft.ApplicationInsights." + strings.ReplaceAll(testIKey, "-", "") + ".Metric"
	got := map[string][]item{}
	for _, e := range envs {
		if e.IKey != testIKey || e.Name != wantEnvelopeName || e.Data.BaseType != "MetricData" {
			t.Errorf("envelope header: iKey %q name %q baseType %q", e.IKey, e.Name, e.Data.BaseType)
		}
		if e.Data.BaseData.Metrics[0].Kind != 1 {
			t.Errorf("%s: kind %d, want 1 (Aggregation)", e.Data.BaseData.Metrics[0].Name, e.Data.BaseData.Metrics[0].Kind)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			t.Errorf("time %q: %v", e.Time, err)
		}
		it := e.item()
		key := it.Name + "|" + it.Dims["tenant"]
		got[key] = append(got[key], it)
	}

	dims := func(kv ...string) map[string]string {
		m := map[string]string{"deployment.environment.name": "test"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	acmeDims := dims("tenant", "acme", "model", "gpt-4o")
	one := func(name string, v float64, d map[string]string) item {
		return item{Name: name, Sum: v, Count: 1, Min: v, Max: v, Dims: d, CloudRole: "llmops.agent", Instance: "instance-1"}
	}
	want := map[string][]item{
		"agent.task.success|acme":   {one("agent.task.success", 5, acmeDims), one("agent.task.success", 4, acmeDims)},
		"agent.task.success|globex": {one("agent.task.success", 1, dims("tenant", "globex", "model", "gpt-4o"))},
		"agent.cost.usd|acme":       {one("agent.cost.usd", 0.75, acmeDims)},
		"agent.inflight|":           {one("agent.inflight", 3, dims()), one("agent.inflight", 4, dims())},
		"agent.task.latency|acme": {
			{Name: "agent.task.latency", Sum: 6, Count: 3, Min: 0.5, Max: 4, Dims: acmeDims, CloudRole: "llmops.agent", Instance: "instance-1"},
			{Name: "agent.task.latency", Sum: 2, Count: 1, Min: 2, Max: 2, Dims: acmeDims, CloudRole: "llmops.agent", Instance: "instance-1"},
		},
		"agent.tokens.per_call|acme": {
			{Name: "agent.tokens.per_call", Sum: 400, Count: 2, Min: 100, Max: 300, Dims: acmeDims, CloudRole: "llmops.agent", Instance: "instance-1"},
		},
		"agent.queue.depth|": {one("agent.queue.depth", 9.5, dims())},
		"agent.workers|":     {one("agent.workers", 4, dims())},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("customMetrics items differ\n got: %+v\nwant: %+v", got, want)
	}
	if len(envs) != 11 {
		t.Errorf("%d envelopes, want 11", len(envs))
	}
}

func TestPeriodicReaderShutdownFlushes(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv)
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(resource.Empty()))
	ctx := context.Background()

	c, _ := mp.Meter("test").Int64Counter("agent.task.failure")
	c.Add(ctx, 2, metric.WithAttributes(attribute.String("reason", "timeout")))
	c.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", "tool_error")))

	if n := srv.requestCount(); n != 0 {
		t.Fatalf("%d request(s) before Shutdown", n)
	}
	// MeterProvider.Shutdown collects, exports (which posts) and shuts the
	// exporter down.
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatalf("MeterProvider.Shutdown: %v", err)
	}
	host := hostname(t)
	got := map[string]item{}
	for _, e := range srv.envelopes() {
		it := e.item()
		got[it.Dims["reason"]] = it
	}
	want := map[string]item{
		"timeout":    {Name: "agent.task.failure", Sum: 2, Count: 1, Min: 2, Max: 2, Dims: map[string]string{"reason": "timeout"}, Instance: host},
		"tool_error": {Name: "agent.task.failure", Sum: 1, Count: 1, Min: 1, Max: 1, Dims: map[string]string{"reason": "tool_error"}, Instance: host},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if err := exp.Export(ctx, &metricdata.ResourceMetrics{}); !errors.Is(err, appinsights.ErrShutdown) {
		t.Errorf("Export after MeterProvider.Shutdown = %v, want ErrShutdown", err)
	}
}

// gaugeData builds ResourceMetrics with one float gauge point per value.
func gaugeData(name string, values ...float64) *metricdata.ResourceMetrics {
	pts := make([]metricdata.DataPoint[float64], len(values))
	for i, v := range values {
		pts[i] = metricdata.DataPoint[float64]{
			Attributes: attribute.NewSet(attribute.Int("i", i)),
			Time:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Value:      v,
		}
	}
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{
		Metrics: []metricdata.Metrics{{Name: name, Data: metricdata.Gauge[float64]{DataPoints: pts}}},
	}}}
}

func TestExportPostsBeforeReturning(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv)
	ctx := context.Background()
	if err := exp.Export(ctx, gaugeData("agent.queue.depth", 3)); err != nil {
		t.Fatal(err)
	}
	envs := srv.envelopes()
	if len(envs) != 1 || envs[0].item().Sum != 3 {
		t.Fatalf("got %+v after Export returned, want one item of value 3", envs)
	}
	if envs[0].Time != "2026-01-02T03:04:05Z" {
		t.Errorf("time %q, want the data point's time", envs[0].Time)
	}
	// The envelope header and default tags the Application Insights library
	// sends (without its random per-item ai.operation.id).
	e := envs[0]
	host := hostname(t)
	wantTags := map[string]string{
		"ai.internal.sdkVersion": "go:0.4.4", "ai.device.osVersion": runtime.GOOS,
		"ai.device.id": host, "ai.cloud.roleInstance": host,
	}
	if e.Ver != 1 || e.SampleRate != 100 || e.Seq != "" || e.Data.BaseData.Ver != 2 || !reflect.DeepEqual(e.Tags, wantTags) {
		t.Errorf("envelope ver %d sampleRate %v seq %q data ver %d tags %v; want 1, 100, \"\", 2, %v",
			e.Ver, e.SampleRate, e.Seq, e.Data.BaseData.Ver, e.Tags, wantTags)
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := srv.requestCount(); n != 1 {
		t.Errorf("%d requests, want 1 (nothing left to send at ForceFlush or Shutdown)", n)
	}
}

// doneWatch is a context whose Done method reports its first call: a
// ForceFlush or Shutdown that waits for an Export selects on it, one that
// does not wait never calls it.
type doneWatch struct {
	context.Context
	once   sync.Once
	called chan struct{}
}

func newDoneWatch() *doneWatch {
	return &doneWatch{Context: context.Background(), called: make(chan struct{})}
}

func (c *doneWatch) Done() <-chan struct{} {
	c.once.Do(func() { close(c.called) })
	return c.Context.Done()
}

func TestFlushAndShutdownWaitForExportInProgress(t *testing.T) {
	tests := []struct {
		name string
		call func(*appinsights.Exporter, context.Context) error
	}{
		{"ForceFlush", (*appinsights.Exporter).ForceFlush},
		{"Shutdown", (*appinsights.Exporter).Shutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newIngestServer(t, nil)
			release := srv.holdRequests()
			exp := newExporter(t, srv)
			exported := make(chan error, 1)
			go func() { exported <- exp.Export(context.Background(), gaugeData("agent.queue.depth", 4)) }()
			<-srv.entered // the Export is in progress, its request held

			ctx := newDoneWatch()
			go func() {
				<-ctx.called // the call waits: let the request through
				release()
			}()
			if err := tt.call(exp, ctx); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			// It returned after the Export had delivered.
			if envs := srv.envelopes(); len(envs) != 1 || envs[0].item().Sum != 4 {
				t.Errorf("delivered %+v when %s returned, want the item of value 4", envs, tt.name)
			}
			if err := <-exported; err != nil {
				t.Errorf("Export: %v", err)
			}
		})
	}
}

func TestAfterShutdown(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv)
	ctx := context.Background()
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := exp.Export(ctx, gaugeData("g", 1)); !errors.Is(err, appinsights.ErrShutdown) {
		t.Errorf("Export = %v, want ErrShutdown", err)
	}
	if err := exp.ForceFlush(ctx); !errors.Is(err, appinsights.ErrShutdown) {
		t.Errorf("ForceFlush = %v, want ErrShutdown", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	if n := srv.requestCount(); n != 0 {
		t.Errorf("%d requests, want 0 (nothing was exported)", n)
	}
}

func TestExportFailures(t *testing.T) {
	tests := []struct {
		name          string
		statuses      []int // answers to requests 1, 2, ...
		wantRequests  int
		wantStatus    int   // status of the TransmitError Export returns; 0: no error
		wantReported  []int // statuses the error handler receives
		wantDelivered int
	}{
		{"500 twice: retried once, then returned", []int{500, 500}, 2, 500, []int{500, 500}, 0},
		{"503 then 200: the retry delivers", []int{503, 200}, 2, 0, []int{503}, 2},
		{"429 then 200", []int{429, 200}, 2, 0, []int{429}, 2},
		{"439 then 200", []int{439, 200}, 2, 0, []int{439}, 2},
		{"408 twice", []int{408, 408}, 2, 408, []int{408, 408}, 0},
		{"400: dropped without retry", []int{400}, 1, 400, []int{400}, 0},
		{"403: dropped without retry", []int{403}, 1, 403, []int{403}, 0},
		{"502: dropped without retry", []int{502}, 1, 502, []int{502}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newIngestServer(t, func(n int) int {
				if n > len(tt.statuses) {
					t.Errorf("unexpected request %d", n)
					return http.StatusOK
				}
				return tt.statuses[n-1]
			})
			var log errorLog
			exp := newExporter(t, srv, log.option())
			err := exp.Export(context.Background(), gaugeData("agent.queue.depth", 1, 2))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Errorf("Export = %v, want nil", err)
				}
			} else {
				var terr *appinsights.TransmitError
				if !errors.Is(err, appinsights.ErrTransmit) || !errors.As(err, &terr) || terr.StatusCode != tt.wantStatus || terr.Items != 2 {
					t.Errorf("Export = %v, want a TransmitError with status %d for 2 items", err, tt.wantStatus)
				} else if !strings.Contains(err.Error(), "2 of 2 item(s) not delivered") {
					t.Errorf("Export = %q, want it to count the lost items", err)
				}
			}
			if n := srv.requestCount(); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
			if got := log.statuses(t); !reflect.DeepEqual(got, tt.wantReported) {
				t.Errorf("error handler got statuses %v, want %v", got, tt.wantReported)
			}
			if got := len(srv.envelopes()); got != tt.wantDelivered {
				t.Errorf("server accepted %d envelopes, want %d", got, tt.wantDelivered)
			}
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

func TestExportPartialSuccess(t *testing.T) {
	tests := []struct {
		name          string
		replies       []reply // answers to requests 1, 2, ...
		wantSizes     []int   // items per request
		wantLost      int     // items Export reports as not delivered
		wantStatus    int     // status of the returned TransmitError
		wantReported  []int
		wantDelivered []float64 // values accepted by the server, sorted
	}{
		{
			name: "retriable items resent once, the others dropped",
			replies: []reply{
				{Status: 206, Rejected: map[int]int{0: 500, 2: 400, 3: 429}},
				{Status: 200},
			},
			wantSizes: []int{4, 2}, wantLost: 1, wantStatus: 206, wantReported: []int{206},
			wantDelivered: []float64{10, 11, 13},
		},
		{
			name: "the retry fails",
			replies: []reply{
				{Status: 206, Rejected: map[int]int{0: 503}},
				{Status: 503},
			},
			wantSizes: []int{4, 1}, wantLost: 1, wantStatus: 503, wantReported: []int{206, 503},
			wantDelivered: []float64{11, 12, 13},
		},
		{
			name: "the retry is partly rejected",
			replies: []reply{
				{Status: 206, Rejected: map[int]int{1: 503, 3: 408}},
				{Status: 206, Rejected: map[int]int{1: 500}}, // index 1 of the retry: item 3
			},
			wantSizes: []int{4, 2}, wantLost: 1, wantStatus: 206, wantReported: []int{206, 206},
			wantDelivered: []float64{10, 11, 12},
		},
		{
			name:      "nothing retriable",
			replies:   []reply{{Status: 206, Rejected: map[int]int{0: 400, 1: 413}}},
			wantSizes: []int{4}, wantLost: 2, wantStatus: 206, wantReported: []int{206},
			wantDelivered: []float64{12, 13},
		},
		{
			name:      "206 with every item accepted",
			replies:   []reply{{Status: 206}},
			wantSizes: []int{4}, wantReported: []int{},
			wantDelivered: []float64{10, 11, 12, 13},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newIngestServer(t, nil)
			srv.respond = func(n int, _ []envelope) reply {
				if n > len(tt.replies) {
					t.Errorf("unexpected request %d", n)
					return reply{Status: http.StatusOK}
				}
				return tt.replies[n-1]
			}
			var log errorLog
			exp := newExporter(t, srv, log.option())
			err := exp.Export(context.Background(), gaugeData("agent.queue.depth", 10, 11, 12, 13))
			if tt.wantLost == 0 {
				if err != nil {
					t.Errorf("Export = %v, want nil", err)
				}
			} else {
				var terr *appinsights.TransmitError
				want := strconv.Itoa(tt.wantLost) + " of 4 item(s) not delivered"
				if !errors.As(err, &terr) || terr.StatusCode != tt.wantStatus || !strings.Contains(err.Error(), want) {
					t.Errorf("Export = %v, want %q and a TransmitError with status %d", err, want, tt.wantStatus)
				}
			}
			if got := srv.requestSizes(); !reflect.DeepEqual(got, tt.wantSizes) {
				t.Errorf("items per request %v, want %v", got, tt.wantSizes)
			}
			if got := log.statuses(t); !reflect.DeepEqual(got, tt.wantReported) {
				t.Errorf("error handler got statuses %v, want %v", got, tt.wantReported)
			}
			var got []float64
			for _, e := range srv.envelopes() {
				got = append(got, e.item().Sum)
			}
			sort.Float64s(got)
			if !reflect.DeepEqual(got, tt.wantDelivered) {
				t.Errorf("server accepted values %v, want %v", got, tt.wantDelivered)
			}
		})
	}
}

// waitFor yields until cond holds. It does not measure time: the bound only
// turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestRetryAfter(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	tests := []struct {
		name     string
		header   string
		deadline bool          // Export's context has a deadline a minute away
		wait     time.Duration // expected wait before the retry; 0: no retry
	}{
		{"delay in seconds", "5", false, 5 * time.Second},
		{"HTTP date", start.Add(10 * time.Second).UTC().Format(http.TimeFormat), false, 10 * time.Second},
		{"within the deadline", "30", true, 30 * time.Second},
		{"beyond the deadline: no retry", "120", true, 0},
		{"beyond MaxRetryAfter: no retry", "3600", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newIngestServer(t, nil)
			srv.respond = func(n int, _ []envelope) reply {
				if n == 1 {
					return reply{Status: http.StatusServiceUnavailable, RetryAfter: tt.header}
				}
				return reply{Status: http.StatusOK}
			}
			clk := clock.NewFake(start)
			var log errorLog
			exp := newExporter(t, srv, appinsights.WithClock(clk), log.option())
			ctx := context.Background()
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(time.Minute))
				defer cancel()
			}
			exported := make(chan error, 1)
			go func() { exported <- exp.Export(ctx, gaugeData("agent.queue.depth", 1)) }()

			if tt.wait == 0 {
				err := <-exported
				var terr *appinsights.TransmitError
				if !errors.As(err, &terr) || terr.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("Export = %v, want a TransmitError with status 503", err)
				}
				if n := srv.requestCount(); n != 1 {
					t.Errorf("%d requests, want 1 (no retry)", n)
				}
				return
			}
			waitFor(t, "the Retry-After timer", func() bool { return clk.Timers() == 1 })
			clk.Advance(tt.wait - time.Millisecond)
			if n := clk.Timers(); n != 1 {
				t.Fatalf("the retry timer fired %v early", time.Millisecond)
			}
			clk.Advance(time.Millisecond)
			if err := <-exported; err != nil {
				t.Errorf("Export = %v, want nil (the retry delivers)", err)
			}
			if n := srv.requestCount(); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if len(log.errs) != 1 || log.errs[0].RetryAfter != tt.wait {
				t.Errorf("reported %+v, want one failure with RetryAfter %v", log.errs, tt.wait)
			}
		})
	}
}

func TestExportContextBoundsHangingServer(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(srv *ingestServer) (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled while the request hangs", func(srv *ingestServer) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-srv.entered
				cancel()
			}()
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func(*ingestServer) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newIngestServer(t, nil)
			srv.holdRequests() // never answers during the test
			var log errorLog
			exp := newExporter(t, srv, log.option())
			ctx, cancel := tt.ctx(srv)
			defer cancel()
			err := exp.Export(ctx, gaugeData("agent.queue.depth", 1))
			if !errors.Is(err, tt.want) || !errors.Is(err, appinsights.ErrTransmit) {
				t.Errorf("Export = %v, want %v and ErrTransmit", err, tt.want)
			}
			if got := log.statuses(t); !reflect.DeepEqual(got, []int{0}) {
				t.Errorf("error handler got statuses %v, want one transport failure", got)
			}
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

func TestShutdownContextEnds(t *testing.T) {
	srv := newIngestServer(t, nil)
	release := srv.holdRequests()
	exp := newExporter(t, srv)
	exported := make(chan error, 1)
	go func() { exported <- exp.Export(context.Background(), gaugeData("agent.queue.depth", 1)) }()
	<-srv.entered // the Export is in progress, its request held

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := exp.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	// Shutdown gave up: the Export's request is cancelled.
	if err := <-exported; !errors.Is(err, appinsights.ErrShutdown) || !errors.Is(err, appinsights.ErrTransmit) {
		t.Errorf("abandoned Export = %v, want ErrShutdown and ErrTransmit", err)
	}
	release()
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if n := len(srv.entered); n != 0 {
		t.Errorf("%d more request(s) after the abandoned one, want none (no retry)", n)
	}
}

func TestMaxBatchSize(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv, appinsights.WithMaxBatchSize(2))
	if err := exp.Export(context.Background(), gaugeData("agent.queue.depth", 0, 1, 2, 3, 4)); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.requestSizes(), []int{2, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("items per request %v, want %v", got, want)
	}
	var got []float64
	for _, e := range srv.envelopes() {
		got = append(got, e.item().Sum)
	}
	if want := []float64{0, 1, 2, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
}

func TestExportEdgeCases(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	attrs := attribute.NewSet(attribute.String("tenant", "acme"), attribute.StringSlice("tags", []string{"a", "b"}), attribute.Bool("cached", true))
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "exp.hist", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{
			{Attributes: attrs, Time: at, Count: 4, Sum: 10, Min: metricdata.NewExtrema(1.0), Max: metricdata.NewExtrema(4.0)},
		}}},
		{Name: "hist.nominmax", Data: metricdata.Histogram[int64]{Temporality: metricdata.DeltaTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{
			{Attributes: attrs, Time: at, Count: 4, Sum: 10},
			{Attributes: attrs, Time: at, Count: 0, Sum: 0}, // nothing recorded: skipped
		}}},
		{Name: "summary", Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{
			{Attributes: attrs, Time: at, Count: 3, Sum: 9, QuantileValues: []metricdata.QuantileValue{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 3}, {Quantile: 1, Value: 5}}},
		}}},
		{Name: "sum.float", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: []metricdata.DataPoint[float64]{
			{Attributes: attrs, Time: at, Value: math.NaN()},
			{Attributes: attrs, Time: at, Value: 1.5},
			{Attributes: attrs, Time: at, Value: math.Inf(1)},
		}}},
	}}}}

	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv)
	err := exp.Export(context.Background(), rm)
	if !errors.Is(err, appinsights.ErrNonFinite) || !strings.Contains(err.Error(), "2 data point(s)") {
		t.Errorf("Export = %v, want ErrNonFinite for 2 points", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantDims := map[string]string{"tenant": "acme", "tags": `["a","b"]`, "cached": "true"}
	host := hostname(t)
	want := []item{
		{Name: "exp.hist", Sum: 10, Count: 4, Min: 1, Max: 4, Dims: wantDims, Instance: host},
		{Name: "hist.nominmax", Sum: 10, Count: 4, Min: 2.5, Max: 2.5, Dims: wantDims, Instance: host},
		{Name: "summary", Sum: 9, Count: 3, Min: 1, Max: 5, Dims: wantDims, Instance: host},
		{Name: "sum.float", Sum: 1.5, Count: 1, Min: 1.5, Max: 1.5, Dims: wantDims, Instance: host},
	}
	var got []item
	for _, e := range srv.envelopes() {
		got = append(got, e.item())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestExportHonoursContext(t *testing.T) {
	srv := newIngestServer(t, nil)
	exp := newExporter(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := exp.Export(ctx, gaugeData("g", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Export = %v, want context.Canceled", err)
	}
	if err := exp.ForceFlush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ForceFlush = %v, want context.Canceled", err)
	}
	if err := exp.Export(context.Background(), nil); err != nil {
		t.Errorf("Export(nil) = %v, want nil", err)
	}
}

func TestTemporalityAndAggregation(t *testing.T) {
	exp, err := appinsights.New("InstrumentationKey=" + testIKey + ";IngestionEndpoint=http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	tests := []struct {
		kind sdkmetric.InstrumentKind
		temp metricdata.Temporality
		agg  sdkmetric.Aggregation
	}{
		{sdkmetric.InstrumentKindCounter, metricdata.DeltaTemporality, sdkmetric.AggregationSum{}},
		{sdkmetric.InstrumentKindObservableCounter, metricdata.DeltaTemporality, sdkmetric.AggregationSum{}},
		{sdkmetric.InstrumentKindUpDownCounter, metricdata.CumulativeTemporality, sdkmetric.AggregationSum{}},
		{sdkmetric.InstrumentKindObservableUpDownCounter, metricdata.CumulativeTemporality, sdkmetric.AggregationSum{}},
		{sdkmetric.InstrumentKindHistogram, metricdata.DeltaTemporality, sdkmetric.AggregationExplicitBucketHistogram{}},
		{sdkmetric.InstrumentKindGauge, metricdata.DeltaTemporality, sdkmetric.AggregationLastValue{}},
		{sdkmetric.InstrumentKindObservableGauge, metricdata.DeltaTemporality, sdkmetric.AggregationLastValue{}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := exp.Temporality(tt.kind); got != tt.temp {
				t.Errorf("Temporality = %v, want %v", got, tt.temp)
			}
			if got := exp.Aggregation(tt.kind); !reflect.DeepEqual(got, tt.agg) {
				t.Errorf("Aggregation = %#v, want %#v", got, tt.agg)
			}
		})
	}
}

func TestNewOptionErrors(t *testing.T) {
	conn := "InstrumentationKey=" + testIKey
	tests := []struct {
		name string
		opt  appinsights.Option
	}{
		{"zero batch size", appinsights.WithMaxBatchSize(0)},
		{"huge batch size", appinsights.WithMaxBatchSize(1 << 20)},
		{"nil clock", appinsights.WithClock(nil)},
		{"nil client", appinsights.WithHTTPClient(nil)},
		{"empty resource key", appinsights.WithResourceDimensions("service.version", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := appinsights.New(conn, tt.opt)
			if !errors.Is(err, appinsights.ErrInvalidConfig) {
				t.Errorf("New = %v, want ErrInvalidConfig", err)
			}
			if exp != nil {
				t.Error("non-nil exporter with an error")
			}
		})
	}
	if _, err := appinsights.New("InstrumentationKey=nope"); !errors.Is(err, appinsights.ErrConnectionString) {
		t.Errorf("New(bad connection string) = %v, want ErrConnectionString", err)
	}
}

func TestWithHTTPClient(t *testing.T) {
	srv := newIngestServer(t, nil)
	var calls int
	var mu sync.Mutex
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})
	exp := newExporter(t, srv, appinsights.WithHTTPClient(&http.Client{Transport: rt}))
	if err := exp.Export(context.Background(), gaugeData("g", 1)); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 || len(srv.envelopes()) != 1 {
		t.Errorf("custom transport calls %d, envelopes %d; want 1 and 1", calls, len(srv.envelopes()))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewFromEnv(t *testing.T) {
	srv := newIngestServer(t, nil)
	t.Run("set", func(t *testing.T) {
		t.Setenv(appinsights.EnvConnectionString, "  "+srv.connString()+" ; ")
		exp, err := appinsights.NewFromEnv()
		if err != nil {
			t.Fatalf("NewFromEnv: %v", err)
		}
		if got, want := exp.Endpoint(), srv.srv.URL+"/v2/track"; got != want {
			t.Errorf("Endpoint = %q, want %q", got, want)
		}
		if got := exp.ConnectionString().InstrumentationKey; got != testIKey {
			t.Errorf("InstrumentationKey = %q", got)
		}
		if err := exp.Export(context.Background(), gaugeData("g", 2)); err != nil {
			t.Fatal(err)
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if envs := srv.envelopes(); len(envs) != 1 || envs[0].IKey != testIKey {
			t.Errorf("envelopes %+v, want one with the key from the environment", envs)
		}
	})
	t.Run("unset", func(t *testing.T) {
		t.Setenv(appinsights.EnvConnectionString, " ")
		if _, err := appinsights.NewFromEnv(); !errors.Is(err, appinsights.ErrNoConnectionString) {
			t.Errorf("NewFromEnv = %v, want ErrNoConnectionString", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Setenv(appinsights.EnvConnectionString, "InstrumentationKey=not-a-guid-secret;IngestionEndpoint=x")
		_, err := appinsights.NewFromEnv()
		if !errors.Is(err, appinsights.ErrConnectionString) {
			t.Fatalf("NewFromEnv = %v, want ErrConnectionString", err)
		}
		if strings.Contains(err.Error(), "not-a-guid-secret") {
			t.Errorf("error %q echoes the key", err)
		}
	})
}

// goroutines returns the stack of every running goroutine by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, " [")
		out[header] = g
	}
	return out
}

func TestShutdownLeavesNoGoroutine(t *testing.T) {
	srv := newIngestServer(t, nil) // its accept loop predates the snapshot
	before := goroutines()
	exp, err := appinsights.New(srv.connString())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := exp.Export(ctx, gaugeData("g", float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.envelopes()); n != 3 {
		t.Fatalf("%d envelopes, want 3", n)
	}
	// Every goroutine started since the snapshot must end: the Exporter
	// starts none, and Shutdown closes its keep-alive connection, whose
	// client and server goroutines notice asynchronously. Yield until they
	// have; the bound only turns a leak into a failure.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var leaked []string
		for id, stack := range goroutines() {
			if _, ok := before[id]; !ok {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutine(s) left after Shutdown:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		runtime.Gosched()
	}
}
