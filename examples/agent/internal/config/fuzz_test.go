package config_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/httpmw"
)

var budgetSeeds = []string{
	`{"period":"1h","default_usd":1,"downshift_at_percent":75,"estimate_usd":0.001,"tenants":{"acme":3,"trial":0.01}}`,
	`{"period":"month"}`, `{"period":"day","tenants":{}}`, `{"default_usd":0}`, `{"default_usd":9007199254.740991}`,
	`{"default_usd":9007199254.740992}`, `{"default_usd":1e308}`, `{"default_usd":1e-320}`, `{"default_usd":-0}`,
	`{"estimate_usd":0}`, `{"downshift_at_percent":100.0000001}`, `{"downshift_at_percent":0}`, `{"period":"0.5s"}`,
	`{"tenants":{"acme":-1}}`, `{"tenants":{"a b":1}}`, `{"tenants":{"acme":1e400}}`,
	`{"Default_USD":5}`, `{"TENANTS":{"acme":1}}`, `{"tenants":{"acme":1,"acme":2}}`, `{"default_usd":1,"default_usd":2}`,
	`{"tenants":{"acme":null}}`, `{"tenants":null}`, `{"period":null}`, `{"period":"day"}}`, `{"period":"day"}]`,
	`{"period":"day"} {"period":"week"}`, "{\"tenants\":{\"\xff\":1}}", `{"tenants":{"acme":{"usd":1}}}`,
	`{"tenants":[1]}`, `{"default_usd":"1"}`, `{"unknown":1}`, `[]`, `null`, ``, `{}`,
}

// FuzzBudgetFile loads arbitrary budget files through Load. A refused file
// gives a one-line ErrConfig error; an accepted one is strict JSON whose
// every key is spelled exactly, and the configuration holds exactly its
// values, every amount a valid micro-USD amount (finite, non-negative, at
// most budget.MaxAmount; the estimate positive) and a downshift threshold
// in (0,100].
func FuzzBudgetFile(f *testing.F) {
	for _, s := range budgetSeeds {
		f.Add([]byte(s))
	}
	getenv := func(k string) string {
		if k == config.EnvAdminToken {
			return "fuzz-admin-token-0123456789"
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "budgets.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load([]string{"-budget-file", path}, getenv, nil)
		if err != nil {
			if !errors.Is(err, config.ErrConfig) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: not a one-line ErrConfig", err)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted %q: not one JSON value in UTF-8", data)
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("accepted %q: %v", data, err)
		}
		b := c.Budgets
		def, _ := budget.FromUSD(config.DefaultBudgetUSD)
		est, _ := budget.FromUSD(config.DefaultEstimateUSD)
		want := config.Budgets{Period: "month", DefaultMicroUSD: def, EstimateMicroUSD: est,
			DownshiftAtPercent: config.DefaultDownshiftAt, Tenants: map[string]int64{}}
		for k, raw := range ref {
			switch k {
			case "period":
				unmarshal(t, raw, &want.Period)
			case "default_usd":
				want.DefaultMicroUSD = micro(t, raw)
			case "estimate_usd":
				want.EstimateMicroUSD = micro(t, raw)
			case "downshift_at_percent":
				unmarshal(t, raw, &want.DownshiftAtPercent)
			case "tenants":
				var ts map[string]json.RawMessage
				unmarshal(t, raw, &ts)
				for id, v := range ts {
					want.Tenants[id] = micro(t, v)
				}
			default:
				t.Fatalf("accepted %q with key %q", data, k)
			}
		}
		if b.Period != want.Period || b.DefaultMicroUSD != want.DefaultMicroUSD || b.EstimateMicroUSD != want.EstimateMicroUSD ||
			b.DownshiftAtPercent != want.DownshiftAtPercent || len(b.Tenants) != len(want.Tenants) {
			t.Fatalf("file %q: budgets %+v, want %+v", data, b, want)
		}
		if _, err := b.PeriodValue(); err != nil {
			t.Fatalf("accepted period %q: %v", b.Period, err)
		}
		inRange := func(v, lo int64) bool { return v >= lo && v <= budget.MaxAmount }
		if !inRange(b.DefaultMicroUSD, 0) || !inRange(b.EstimateMicroUSD, 1) ||
			math.IsNaN(b.DownshiftAtPercent) || b.DownshiftAtPercent <= 0 || b.DownshiftAtPercent > 100 {
			t.Fatalf("file %q: budgets %+v", data, b)
		}
		for id, v := range b.Tenants {
			if w, ok := want.Tenants[id]; !ok || v != w || !inRange(v, 0) || httpmw.ValidTenant(id) != nil {
				t.Fatalf("file %q: tenant %q = %d (file says %d, %v)", data, id, v, w, ok)
			}
		}
	})
}

func unmarshal(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("accepted %s: %v", raw, err)
	}
}

// micro converts a JSON number of USD the way the file is documented to.
func micro(t *testing.T, raw json.RawMessage) int64 {
	t.Helper()
	var usd float64
	unmarshal(t, raw, &usd)
	m, err := budget.FromUSD(usd)
	if err != nil {
		t.Fatalf("accepted %s USD: %v", raw, err)
	}
	return m
}

// TestBudgetFileIsStrict checks that the budget file rejects what
// encoding/json alone would misread.
func TestBudgetFileIsStrict(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"case-folded key":        `{"Default_USD":5}`,
		"case-folded outer key":  `{"TENANTS":{"acme":1}}`,
		"duplicate tenant":       `{"tenants":{"acme":1,"acme":2}}`,
		"duplicate key":          `{"default_usd":1,"default_usd":2}`,
		"null tenant budget":     `{"tenants":{"acme":null}}`,
		"null period":            `{"period":null}`,
		"trailing brace":         `{"period":"day"}}`,
		"trailing bracket":       `{"period":"day"}]`,
		"second object":          `{"period":"day"} {"period":"week"}`,
		"invalid UTF-8":          "{\"tenants\":{\"\xff\":1}}",
		"nested tenant":          `{"tenants":{"acme":{"usd":1}}}`,
		"amount as string":       `{"default_usd":"1"}`,
		"empty file":             ``,
		"negative tenant budget": `{"tenants":{"acme":-1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load([]string{"-budget-file", path}, env(nil), nil)
			if !errors.Is(err, config.ErrConfig) || !strings.Contains(err.Error(), "budget file") {
				t.Fatalf("%s: err %v, budgets %+v", doc, err, c.Budgets)
			}
		})
	}
}
