package appinsights_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/llmops-go/llmops/sli/appinsights"
)

func ExampleParseConnectionString() {
	cs, err := appinsights.ParseConnectionString(
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;" +
			"IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;" +
			"LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cs.TrackEndpoint())
	fmt.Println(cs) // the key is redacted

	_, err = appinsights.ParseConnectionString("InstrumentationKey=3f2a9c1e;IngestionEndpoint=https://example.com")
	fmt.Println(err) // the key is not echoed
	// Output:
	// https://westeurope-5.in.applicationinsights.azure.com/v2/track
	// InstrumentationKey=3f2a9c1e-****-****-****-************;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com
	// appinsights: invalid connection string: InstrumentationKey: not a GUID (want 8-4-4-4-12 hexadecimal digits)
}

func ExampleNew() {
	// A loopback stand-in for the ingestion endpoint: it decodes the gzip'd
	// newline-delimited JSON envelopes the exporter posts to /v2/track.
	var mu sync.Mutex
	var received []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		dec := json.NewDecoder(zr)
		for {
			var env struct {
				Data struct {
					BaseData struct {
						Metrics []struct {
							Name            string
							Value, Min, Max float64
							Count           int
						}
						Properties map[string]string
					} `json:"baseData"`
				} `json:"data"`
			}
			if dec.Decode(&env) != nil {
				break
			}
			m := env.Data.BaseData.Metrics[0]
			mu.Lock()
			received = append(received, fmt.Sprintf("%s tenant=%s value=%g count=%d min=%g max=%g",
				m.Name, env.Data.BaseData.Properties["tenant"], m.Value, m.Count, m.Min, m.Max))
			mu.Unlock()
		}
	}))
	defer srv.Close()

	exp, err := appinsights.New("InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;IngestionEndpoint=" + srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	meter := mp.Meter("example")
	success, _ := meter.Int64Counter("agent.task.success")
	latency, _ := meter.Float64Histogram("agent.task.latency", metric.WithUnit("s"))

	ctx := context.Background()
	acme := metric.WithAttributes(attribute.String("tenant", "acme"))
	success.Add(ctx, 2, acme)
	success.Add(ctx, 1, acme)
	latency.Record(ctx, 0.5, acme)
	latency.Record(ctx, 1.5, acme)

	// Shutdown collects and exports (Export posts before it returns), then
	// shuts the exporter down.
	if err := mp.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	mu.Lock()
	sort.Strings(received)
	for _, line := range received {
		fmt.Println(line)
	}
	mu.Unlock()
	// Output:
	// agent.task.latency tenant=acme value=2 count=2 min=0.5 max=1.5
	// agent.task.success tenant=acme value=3 count=1 min=3 max=3
}
