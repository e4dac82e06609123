package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/examples/agent/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PrimaryModel != "gpt-4o" || c.DownshiftModel != "gpt-4o-mini" || c.LLMBaseURL != "" {
		t.Errorf("%+v", c)
	}
	if !c.TokenGenerated || len(c.AdminToken) != 64 || !strings.HasPrefix(c.InstanceID, "agent-") {
		t.Errorf("token %q generated %v instance %q", c.AdminToken, c.TokenGenerated, c.InstanceID)
	}
	if c.Budgets.DefaultMicroUSD != 10_000_000 || c.Budgets.EstimateMicroUSD != 20_000 || c.Budgets.DownshiftAtPercent != 80 {
		t.Errorf("%+v", c.Budgets)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	e := env(map[string]string{
		"LLM_BASE_URL": "https://api.example.com/v1", "LLM_API_KEY": "k", "LLM_MODEL": "gpt-4.1",
		"REDIS_URL": "redis://127.0.0.1:7000/0", "LLMOPS_ADMIN_TOKEN": "0123456789abcdef0123",
		"OTEL_EXPORTER_OTLP_ENDPOINT":           "http://127.0.0.1:4318",
		"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://in.example.com/",
	})
	c, err := config.Load([]string{"-addr", "127.0.0.1:9999", "-budget", "acme=2.5", "-budget", "trial=0.05", "-budget-period", "day"}, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.LLMBaseURL != "https://api.example.com/v1" || c.LLMAPIKey != "k" || c.PrimaryModel != "gpt-4.1" ||
		c.RedisURL == "" || c.TokenGenerated || c.AdminToken != "0123456789abcdef0123" || c.OTLPEndpoint == "" || c.AppInsightsConnectionString == "" {
		t.Errorf("%+v", c)
	}
	if c.Budgets.Tenants["acme"] != 2_500_000 || c.Budgets.Tenants["trial"] != 50_000 || c.Budgets.Period != "day" {
		t.Errorf("%+v", c.Budgets)
	}
}

func TestBudgetFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "b.json")
	if err := os.WriteFile(good, []byte(`{"period":"1h","default_usd":1,"downshift_at_percent":75,"estimate_usd":0.001,"tenants":{"acme":3,"trial":0.01}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load([]string{"-budget-file", good, "-budget", "trial=0.02"}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Budgets
	if b.Period != "1h" || b.DefaultMicroUSD != 1_000_000 || b.DownshiftAtPercent != 75 || b.EstimateMicroUSD != 1000 ||
		b.Tenants["acme"] != 3_000_000 || b.Tenants["trial"] != 20_000 {
		t.Errorf("%+v", b)
	}
	if got := strings.Join(b.TenantIDs(), ","); got != "acme,trial" {
		t.Errorf("tenants %s", got)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"default_usd":1,"unknown":2}`), 0o600)
	neg := filepath.Join(dir, "neg.json")
	_ = os.WriteFile(neg, []byte(`{"tenants":{"acme":-1}}`), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"missing budget file", []string{"-budget-file", filepath.Join(dir, "none.json")}, nil, "budget file"},
		{"unknown field", []string{"-budget-file", bad}, nil, "unknown field"},
		{"negative budget", []string{"-budget-file", neg}, nil, "not a valid amount"},
		{"bad llm url", nil, map[string]string{"LLM_BASE_URL": "ftp://x"}, "LLM_BASE_URL"},
		{"bad redis url", nil, map[string]string{"REDIS_URL": "http://x"}, "REDIS_URL"},
		{"bad otlp", nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"bad connection string", nil, map[string]string{"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=nope"}, "APPLICATIONINSIGHTS_CONNECTION_STRING"},
		{"short token", nil, map[string]string{"LLMOPS_ADMIN_TOKEN": "short"}, "at least 16"},
		{"bad tenant flag", []string{"-budget", "acme"}, nil, "tenant=USD"},
		{"bad tenant id", []string{"-budget", "a b=1"}, nil, "budget tenant"},
		{"bad period", []string{"-budget-period", "fortnight"}, nil, "budget period"},
		{"bad malformed rate", []string{"-sim-malformed", "2"}, nil, "malformed"},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"extra argument", []string{"serve"}, nil, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env), nil)
			if !errors.Is(err, config.ErrConfig) {
				t.Fatalf("err %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q", msg)
			}
			if strings.Contains(err.Error(), "00000000-0000") {
				t.Error("the message repeats a secret")
			}
		})
	}
	if _, err := config.Load([]string{"-h"}, env(nil), nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}
