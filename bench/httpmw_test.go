//go:build unix

package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

var mwBody = []byte("ok")

// mwHandler is the agent handler all sides wrap: it answers at once, so
// the measurement is the wrappers' cost.
func mwHandler(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(mwBody) }

// mwWriter is a reusable ResponseWriter, so the benchmarks measure the
// wrappers rather than httptest.ResponseRecorder.
type mwWriter struct{ h http.Header }

func (w *mwWriter) Header() http.Header         { return w.h }
func (w *mwWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *mwWriter) WriteHeader(int)             {}

// mwSides builds the three handlers compared: the bare handler,
// otelhttp.NewHandler (HTTP server metrics) and the full llmops stack
// (header tenant, in-memory budget reserve and settle, chaos injector with
// no fault, agent SLIs), the last two on the same real SDK MeterProvider.
func mwSides(b *testing.B) (bare, otel, ours http.Handler) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec, err := sli.New(sli.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	enf, err := budget.New(budget.NewMemory(), budget.WithDefaultLimit(budget.MaxAmount))
	if err != nil {
		b.Fatal(err)
	}
	in, err := chaos.New()
	if err != nil {
		b.Fatal(err)
	}
	bare = http.HandlerFunc(mwHandler)
	otel = otelhttp.NewHandler(bare, "agent", otelhttp.WithMeterProvider(mp))
	ours, err = httpmw.NewHandler(bare,
		httpmw.WithRecorder(rec), httpmw.WithChaos(in),
		httpmw.WithTenant(httpmw.HeaderTenant("")),
		httpmw.WithBudget(enf, httpmw.FixedEstimate(1000)), httpmw.WithDownshiftModel("gpt-4o-mini"))
	if err != nil {
		b.Fatal(err)
	}
	return bare, otel, ours
}

func mwRequest(tenant string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/agent", http.NoBody)
	r.Header.Set("X-Tenant-ID", tenant)
	return r
}

// BenchmarkHTTPMWServer measures each side per request, in parallel, each
// goroutine on its own tenant. cpu-ns/op is the process CPU time per
// request (robust to a loaded machine).
func BenchmarkHTTPMWServer(b *testing.B) {
	bare, otel, ours := mwSides(b)
	for _, side := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"otelhttp", otel}, {"llmops", ours}} {
		b.Run(side.name, func(b *testing.B) {
			var id atomic.Int64
			b.ReportAllocs()
			done := sliReportCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				r := mwRequest("tenant-" + strconv.FormatInt(id.Add(1), 10))
				w := &mwWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					side.h.ServeHTTP(w, r)
				}
			})
			done()
		})
	}
}

// BenchmarkHTTPMWServerRatio runs the three sides in interleaved rounds of
// 1000 serial requests, so that machine load hits them alike, and reports
// the overhead each wrapper adds to the bare handler (ns per request) and
// ratio = llmops added / otelhttp added (target <= 1.0). One benchmark
// iteration is one round of each side.
func BenchmarkHTTPMWServerRatio(b *testing.B) {
	bare, otel, ours := mwSides(b)
	const perRound = 1000
	r := mwRequest("acme")
	w := &mwWriter{h: http.Header{}}
	round := func(h http.Handler) time.Duration {
		start := time.Now()
		for range perRound {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
		return time.Since(start)
	}
	round(bare)
	round(otel)
	round(ours)
	var tBare, tOtel, tOurs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		switch i % 3 {
		case 0:
			tBare += round(bare)
			tOtel += round(otel)
			tOurs += round(ours)
		case 1:
			tOtel += round(otel)
			tOurs += round(ours)
			tBare += round(bare)
		default:
			tOurs += round(ours)
			tBare += round(bare)
			tOtel += round(otel)
		}
	}
	n := float64(b.N * perRound)
	otelAdded := float64(tOtel-tBare) / n
	oursAdded := float64(tOurs-tBare) / n
	b.ReportMetric(otelAdded, "otelhttp-added-ns/req")
	b.ReportMetric(oursAdded, "llmops-added-ns/req")
	b.ReportMetric(oursAdded/otelAdded, "ratio")
}
