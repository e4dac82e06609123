package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	promexp "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/sli/appinsights"
)

// ServiceName is the service.name resource attribute (cloud_RoleName in
// Application Insights).
const ServiceName = "llmops-agent"

// exportInterval is how often the push exporters (OTLP, Application
// Insights) collect.
const exportInterval = 30 * time.Second

// telemetry is the service's MeterProvider and what it exports to.
type telemetry struct {
	provider *sdkmetric.MeterProvider
	registry *prometheus.Registry
	// exporters names the active exporters, for the status page.
	exporters []string
}

func newTelemetry(cfg config.Config, version string) (*telemetry, error) {
	t := &telemetry{registry: prometheus.NewRegistry(), exporters: []string{"prometheus (/metrics)"}}
	prom, err := promexp.New(promexp.WithRegisterer(t.registry))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	res, err := resource.New(context.Background(), resource.WithAttributes(
		attribute.String("service.name", ServiceName),
		attribute.String("service.version", version),
		attribute.String("service.instance.id", cfg.InstanceID),
	))
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}
	var pushers []sdkmetric.Exporter
	if cfg.OTLPEndpoint != "" {
		u, err := url.Parse(cfg.OTLPEndpoint)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvOTLPEndpoint, err)
		}
		path := u.Path
		if path == "" || path == "/" {
			path = "/v1/metrics"
		}
		eopts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(u.Host), otlpmetrichttp.WithURLPath(path)}
		if u.Scheme == "http" {
			eopts = append(eopts, otlpmetrichttp.WithInsecure())
		}
		exp, err := otlpmetrichttp.New(context.Background(), eopts...)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		pushers = append(pushers, exp)
		t.exporters = append(t.exporters, "otlp ("+u.Host+")")
	}
	if cfg.AppInsightsConnectionString != "" {
		exp, err := appinsights.New(cfg.AppInsightsConnectionString,
			appinsights.WithResourceDimensions("service.version"))
		if err != nil {
			return nil, fmt.Errorf("application insights exporter: %w", err)
		}
		pushers = append(pushers, exp)
		t.exporters = append(t.exporters, "application insights")
	}
	for _, p := range pushers {
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(p, sdkmetric.WithInterval(exportInterval))))
	}
	t.provider = sdkmetric.NewMeterProvider(opts...)
	return t, nil
}

// shutdown flushes and stops every exporter.
func (t *telemetry) shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	if errors.Is(err, sdkmetric.ErrReaderShutdown) {
		return nil
	}
	return err
}
