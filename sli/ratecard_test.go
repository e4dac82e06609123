package sli

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustDefault(t testing.TB, opts ...CardOption) *RateCard {
	t.Helper()
	c, err := DefaultRateCard(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCost(t *testing.T) {
	card := mustDefault(t, WithAlias("prod-chat", "gpt-4o"), WithAlias("EU-Mini", "gpt-4o-mini"))
	tests := []struct {
		name, model string
		u           Usage
		want        int64
		wantModel   string
		wantErr     error
	}{
		{"million input tokens", "gpt-4o", Usage{InputTokens: 1_000_000}, 2_500_000, "gpt-4o", nil},
		{"million output tokens", "gpt-4o", Usage{OutputTokens: 1_000_000}, 10_000_000, "gpt-4o", nil},
		{"cached tokens at the cached price", "gpt-4o", Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 100}, 3000, "gpt-4o", nil},
		{"all input cached", "gpt-4.1-nano", Usage{InputTokens: 1_000_000, CachedInputTokens: 1_000_000}, 25_000, "gpt-4.1-nano", nil},
		{"no cached price means input price", "gpt-4-turbo", Usage{InputTokens: 1_000_000, CachedInputTokens: 500_000}, 10_000_000, "gpt-4-turbo", nil},
		{"one token rounds up", "gpt-4o-mini", Usage{InputTokens: 1}, 1, "gpt-4o-mini", nil},
		{"rounds up, not to nearest", "gpt-5-nano", Usage{InputTokens: 1_000_001}, 50_001, "gpt-5-nano", nil},
		{"exact stays exact", "claude-sonnet-4-5", Usage{InputTokens: 1000, OutputTokens: 1000}, 18_000, "claude-sonnet-4-5", nil},
		{"zero usage costs zero", "gpt-4o", Usage{}, 0, "gpt-4o", nil},
		{"dated openai", "gpt-4o-2024-08-06", Usage{InputTokens: 1_000_000}, 2_500_000, "gpt-4o", nil},
		{"a snapshot priced apart keeps its own price", "gpt-4o-2024-05-13", Usage{InputTokens: 1_000_000}, 5_000_000, "gpt-4o-2024-05-13", nil},
		{"dated mini is mini, not gpt-4o", "gpt-4o-mini-2024-07-18", Usage{InputTokens: 1_000_000}, 150_000, "gpt-4o-mini", nil},
		{"dated gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", Usage{OutputTokens: 1_000_000}, 1_600_000, "gpt-4.1-mini", nil},
		{"dated o3", "o3-2025-04-16", Usage{InputTokens: 1_000_000}, 2_000_000, "o3", nil},
		{"old style -MMDD", "gpt-35-turbo-0125", Usage{InputTokens: 1_000_000}, 500_000, "gpt-3.5-turbo", nil},
		{"dated anthropic", "claude-3-5-sonnet-20241022", Usage{OutputTokens: 1_000_000}, 15_000_000, "claude-3-5-sonnet", nil},
		{"dated claude 4.5", "claude-sonnet-4-5-20250929", Usage{InputTokens: 1_000_000}, 3_000_000, "claude-sonnet-4-5", nil},
		{"claude haiku 4.5 dated", "claude-haiku-4-5-20251001", Usage{OutputTokens: 1_000_000}, 5_000_000, "claude-haiku-4-5", nil},
		{"anthropic -latest", "claude-3-5-haiku-latest", Usage{InputTokens: 1_000_000}, 800_000, "claude-3-5-haiku", nil},
		{"bedrock id", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", Usage{InputTokens: 1_000_000}, 3_000_000, "claude-3-5-sonnet", nil},
		{"vertex id", "claude-3-5-sonnet-v2@20241022", Usage{InputTokens: 1_000_000}, 3_000_000, "claude-3-5-sonnet", nil},
		{"router prefix and dots", "openrouter/anthropic/claude-3.7-sonnet", Usage{InputTokens: 1_000_000}, 3_000_000, "claude-3-7-sonnet", nil},
		{"provider prefix", "openai/gpt-4.1-mini", Usage{InputTokens: 1_000_000}, 400_000, "gpt-4.1-mini", nil},
		{"case and spaces", "  GPT-4o ", Usage{InputTokens: 1_000_000}, 2_500_000, "gpt-4o", nil},
		{"card alias", "claude-sonnet-4-0", Usage{InputTokens: 1_000_000}, 3_000_000, "claude-sonnet-4", nil},
		{"deployment alias", "prod-chat", Usage{InputTokens: 1_000_000}, 2_500_000, "gpt-4o", nil},
		{"deployment alias, any case", "eu-mini", Usage{InputTokens: 1_000_000}, 150_000, "gpt-4o-mini", nil},
		{"unknown model", "gpt-unknown", Usage{InputTokens: 1}, 0, "", ErrUnknownModel},
		{"no prefix matching", "gpt-4o-mini-tts", Usage{InputTokens: 1}, 0, "", ErrUnknownModel},
		{"a date alone is not a model", "2024-08-06", Usage{InputTokens: 1}, 0, "", ErrUnknownModel},
		{"empty model", "", Usage{InputTokens: 1}, 0, "", ErrUnknownModel},
		{"negative tokens", "gpt-4o", Usage{InputTokens: -1}, 0, "", ErrInvalidUsage},
		{"cached above input", "gpt-4o", Usage{InputTokens: 1, CachedInputTokens: 2}, 0, "", ErrInvalidUsage},
		{"huge but fits", "gpt-4o", Usage{InputTokens: 1_000_000_000_000_000}, 2_500_000_000_000_000, "gpt-4o", nil},
		{"huge overflows", "gpt-4o", Usage{OutputTokens: math.MaxInt64}, 0, "", ErrCostOverflow},
		{"all three huge", "claude-opus-4-1", Usage{InputTokens: math.MaxInt64, CachedInputTokens: math.MaxInt64 / 2, OutputTokens: math.MaxInt64}, 0, "", ErrCostOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := card.Quote(tt.model, tt.u)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Quote(%q) error %v, want %v", tt.model, err, tt.wantErr)
			}
			if q.MicroUSD != tt.want || q.Model != tt.wantModel || q.Fallback {
				t.Errorf("Quote(%q) = %+v, want %d µUSD from %q", tt.model, q, tt.want, tt.wantModel)
			}
			c, err2 := card.Cost(tt.model, tt.u)
			if c != tt.want || !errors.Is(err2, tt.wantErr) {
				t.Errorf("Cost = %d, %v", c, err2)
			}
		})
	}
}

func TestUnknownModelPolicy(t *testing.T) {
	refuse := mustDefault(t)
	_, err := refuse.Cost("my-finetune", Usage{InputTokens: 10})
	var ue *UnknownModelError
	if !errors.As(err, &ue) || ue.Model != "my-finetune" || !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("refuse: err %v", err)
	}
	fb, _ := PriceFromUSD(15, 15, 75)
	lenient := mustDefault(t, WithFallbackPrice(fb))
	q, err := lenient.Quote("my-finetune", Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000})
	if err != nil || !q.Fallback || q.Model != "" || q.MicroUSD != 90_000_000 {
		t.Fatalf("fallback: %+v %v", q, err)
	}
	if q, _ := lenient.Quote("gpt-4o", Usage{InputTokens: 1_000_000}); q.Fallback || q.MicroUSD != 2_500_000 {
		t.Errorf("known model priced with fallback: %+v", q)
	}
	back, err := lenient.With(WithRefuseUnknown())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.Cost("my-finetune", Usage{InputTokens: 1}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("WithRefuseUnknown: %v", err)
	}
	if _, ok := lenient.Fallback(); !ok {
		t.Error("With modified the original card")
	}
	if _, err := refuse.With(WithFallbackPrice(Price{})); !errors.Is(err, ErrInvalidRateCard) {
		t.Errorf("zero fallback accepted: %v", err)
	}
	if _, err := refuse.With(WithFallbackPrice(Price{Input: -1, Output: 1})); !errors.Is(err, ErrInvalidRateCard) {
		t.Errorf("negative fallback accepted: %v", err)
	}
}

// TestCostMatchesBigArithmetic checks the 128-bit path against math/big.
func TestCostMatchesBigArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	million := big.NewInt(1_000_000)
	maxI64 := big.NewInt(math.MaxInt64)
	for i := range 20000 {
		var u Usage
		var p Price
		switch i % 3 {
		case 0: // realistic
			u = Usage{InputTokens: rng.Int64N(1 << 24), OutputTokens: rng.Int64N(1 << 20)}
			p = Price{Input: rng.Int64N(100_000_000), CachedInput: rng.Int64N(10_000_000), Output: rng.Int64N(100_000_000)}
		default: // huge
			u = Usage{InputTokens: rng.Int64(), OutputTokens: rng.Int64() >> rng.IntN(63)}
			p = Price{Input: rng.Int64N(maxPrice + 1), CachedInput: rng.Int64N(maxPrice + 1), Output: rng.Int64N(maxPrice+1) >> rng.IntN(40)}
		}
		u.CachedInputTokens = rng.Int64N(u.InputTokens + 1)
		sum := new(big.Int).Mul(big.NewInt(u.InputTokens-u.CachedInputTokens), big.NewInt(p.Input))
		sum.Add(sum, new(big.Int).Mul(big.NewInt(u.CachedInputTokens), big.NewInt(p.CachedInput)))
		sum.Add(sum, new(big.Int).Mul(big.NewInt(u.OutputTokens), big.NewInt(p.Output)))
		q, r := new(big.Int).QuoRem(sum, million, new(big.Int))
		if r.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
		got, err := p.Cost(u)
		if q.Cmp(maxI64) > 0 {
			if !errors.Is(err, ErrCostOverflow) {
				t.Fatalf("%+v at %+v: got %d, %v; want overflow", u, p, got, err)
			}
			continue
		}
		if err != nil || got != q.Int64() {
			t.Fatalf("%+v at %+v: got %d, %v; want %s", u, p, got, err, q)
		}
	}
}

func TestPriceFromUSD(t *testing.T) {
	p, err := PriceFromUSD(2.5, 1.25, 10)
	if err != nil || p != (Price{Input: 2_500_000, CachedInput: 1_250_000, Output: 10_000_000}) {
		t.Fatalf("PriceFromUSD = %+v, %v", p, err)
	}
	if p, _ := PriceFromUSD(0.075, 0.0375, 0.3); p.Input != 75_000 || p.CachedInput != 37_500 || p.Output != 300_000 {
		t.Errorf("PriceFromUSD rounding: %+v", p)
	}
	for _, bad := range [][3]float64{
		{math.NaN(), 0, 0}, {0, math.Inf(1), 0}, {0, 0, math.Inf(-1)}, {-0.01, 0, 0}, {0, 0, 2e6},
	} {
		if _, err := PriceFromUSD(bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidRateCard) {
			t.Errorf("PriceFromUSD(%v) error %v", bad, err)
		}
	}
}

func TestNewRateCardValidation(t *testing.T) {
	day := time.Date(2026, 11, 1, 15, 4, 5, 0, time.FixedZone("x", 3600))
	ok := map[string]Price{"m": {Input: 1, Output: 2}}
	tests := []struct {
		name    string
		version string
		eff     time.Time
		prices  map[string]Price
		opts    []CardOption
	}{
		{"no version", "", day, ok, nil},
		{"version with space", "v 1", day, ok, nil},
		{"version too long", strings.Repeat("v", 65), day, ok, nil},
		{"no date", "v1", time.Time{}, ok, nil},
		{"no models", "v1", day, nil, nil},
		{"negative", "v1", day, map[string]Price{"m": {Input: -1}}, nil},
		{"too expensive", "v1", day, map[string]Price{"m": {Output: maxPrice + 1}}, nil},
		{"duplicate after normalization", "v1", day, map[string]Price{"m": {}, " M": {}}, nil},
		{"dangling alias", "v1", day, ok, []CardOption{WithAlias("a", "nope")}},
		{"alias shadows model", "v1", day, ok, []CardOption{WithAlias("m", "m")}},
		{"empty alias", "v1", day, ok, []CardOption{WithAlias(" ", "m")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRateCard(tt.version, tt.eff, tt.prices, tt.opts...); !errors.Is(err, ErrInvalidRateCard) {
				t.Fatalf("error %v, want ErrInvalidRateCard", err)
			}
		})
	}
	c, err := NewRateCard("v1", day, ok, WithAlias("dep", "M"), WithNote("n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Effective().Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || c.Note() != "n" || c.Aliases()["dep"] != "m" {
		t.Errorf("card: %v %q %v", c.Effective(), c.Note(), c.Aliases())
	}
}

func TestDefaultRateCard(t *testing.T) {
	c := mustDefault(t)
	if c.Version() != "builtin-2026-11-01" || c.Effective().Format(time.DateOnly) != "2026-11-01" {
		t.Errorf("version %q effective %v", c.Version(), c.Effective())
	}
	if _, ok := c.Fallback(); ok {
		t.Error("built-in card has a fallback price: unknown models must be refused")
	}
	for _, m := range []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini",
		"gpt-5", "gpt-5-mini", "gpt-5-nano", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-3-5-sonnet", "claude-3-5-haiku"} {
		name, p, ok := c.Lookup(m)
		if !ok || name != m || p.Input <= 0 || p.Output <= p.Input || p.CachedInput > p.Input {
			t.Errorf("%s: %q %+v %v", m, name, p, ok)
		}
	}
	// Each call returns a new card: options on one do not leak into another.
	if _, err := mustDefault(t, WithAlias("x", "gpt-4o")).Cost("x", Usage{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cost("x", Usage{}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("alias leaked across cards: %v", err)
	}
	// The embedded file is also the documentation of the format: it must round-trip.
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := LoadRateCard(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cardsEqual(c, c2); err != nil {
		t.Error(err)
	}
}

func TestLoadRateCard(t *testing.T) {
	const good = `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":"2.50","cached_input":0.000001,"output":10}},
		"aliases":{"dep":"m"},"fallback":{"input":1,"output":2}}`
	c, err := LoadRateCard(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if _, p, _ := c.Lookup("dep"); p != (Price{Input: 2_500_000, CachedInput: 1, Output: 10_000_000}) {
		t.Errorf("price %+v", p)
	}
	if fb, ok := c.Fallback(); !ok || fb != (Price{Input: 1_000_000, CachedInput: 1_000_000, Output: 2_000_000}) {
		t.Errorf("fallback %+v %v", fb, ok)
	}

	bad := map[string]string{
		"not json":            `nope`,
		"empty":               ``,
		"unknown field":       `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1}},"extra":1}`,
		"unknown price field": `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1,"batch":1}}}`,
		"negative":            `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":-1,"output":1}}}`,
		"negative zero":       `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":-0,"output":1}}}`,
		"exponent":            `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1e3,"output":1}}}`,
		"seven decimals":      `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":0.0000001,"output":1}}}`,
		"not a number":        `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":"NaN","output":1}}}`,
		"infinite":            `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":"Infinity","output":1}}}`,
		"missing output":      `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1}}}`,
		"too expensive":       `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1000000.5,"output":1}}}`,
		"duplicate model":     `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1},"m":{"input":2,"output":2}}}`,
		"duplicate alias":     `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1}},"aliases":{"a":"m","a":"m"}}`,
		"alias twice by case": `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1},"n":{"input":1,"output":1}},"aliases":{"a":"m"," A":"n"}}`,
		"dangling alias":      `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1}},"aliases":{"a":"x"}}`,
		"no version":          `{"effective":"2026-11-01","models":{"m":{"input":1,"output":1}}}`,
		"bad date":            `{"version":"v1","effective":"11/01/2026","models":{"m":{"input":1,"output":1}}}`,
		"no models":           `{"version":"v1","effective":"2026-11-01","models":{}}`,
		"uppercase model":     `{"version":"v1","effective":"2026-11-01","models":{"GPT":{"input":1,"output":1}}}`,
		"other currency":      `{"version":"v1","effective":"2026-11-01","currency":"EUR","models":{"m":{"input":1,"output":1}}}`,
		"zero fallback":       `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1}},"fallback":{"input":0,"output":0}}`,
		"trailing data":       `{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1}}} {}`,
		"array":               `[]`,
		"too large":           `{"version":"v1","note":"` + strings.Repeat("x", MaxRateCardBytes) + `"}`,
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadRateCard(strings.NewReader(in)); !errors.Is(err, ErrInvalidRateCard) {
				t.Fatalf("error %v, want ErrInvalidRateCard", err)
			}
		})
	}
}

func TestLoadRateCardFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(path, []byte(defaultCardJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadRateCardFile(path, WithAlias("my-deployment", "gpt-4.1"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _, ok := c.Lookup("my-deployment"); !ok || n != "gpt-4.1" {
		t.Errorf("alias from option: %q %v", n, ok)
	}
	if _, err := LoadRateCardFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func cardsEqual(a, b *RateCard) error {
	switch {
	case a.Version() != b.Version() || !a.Effective().Equal(b.Effective()) || a.Note() != b.Note():
		return errors.New("header differs")
	case len(a.models) != len(b.models) || len(a.aliases) != len(b.aliases):
		return errors.New("sizes differ")
	}
	for k, v := range a.models {
		if b.models[k] != v {
			return errors.New("price of " + k + " differs")
		}
	}
	for k, v := range a.aliases {
		if b.aliases[k] != v {
			return errors.New("alias " + k + " differs")
		}
	}
	fa, oka := a.Fallback()
	fb, okb := b.Fallback()
	if oka != okb || fa != fb {
		return errors.New("fallback differs")
	}
	return nil
}

func TestUsageAdd(t *testing.T) {
	got := Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 3}.Add(Usage{InputTokens: 5, CachedInputTokens: 1, OutputTokens: 7})
	if got != (Usage{InputTokens: 15, CachedInputTokens: 5, OutputTokens: 10}) {
		t.Fatalf("Add = %+v", got)
	}
}
