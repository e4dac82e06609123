package sli

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoadRateCard checks that the loader never panics, that every error
// matches ErrInvalidRateCard, and that an accepted card survives a
// MarshalJSON/LoadRateCard round trip unchanged.
func FuzzLoadRateCard(f *testing.F) {
	f.Add([]byte(defaultCardJSON))
	f.Add([]byte(`{"version":"v1","effective":"2026-11-01","models":{"m":{"input":"2.50","cached_input":0.000001,"output":10}},"aliases":{"dep":"m"},"fallback":{"input":1,"output":2}}`))
	f.Add([]byte(`{"version":"v1","effective":"2026-11-01","models":{"m":{"input":-1,"output":1}}}`))
	f.Add([]byte(`{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1e308,"output":1}}}`))
	f.Add([]byte(`{"version":"v1","effective":"2026-11-01","models":{"m":{"input":1,"output":1},"m":{"input":1,"output":1}}}`))
	f.Add([]byte(`{"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadRateCard(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalidRateCard) {
				t.Fatalf("error %v does not match ErrInvalidRateCard", err)
			}
			return
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		c2, err := LoadRateCard(strings.NewReader(string(out)))
		if err != nil {
			t.Fatalf("reloading %s: %v", out, err)
		}
		if err := cardsEqual(c, c2); err != nil {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
		for _, m := range c.Models() {
			if _, err := c.Cost(m, Usage{InputTokens: 1 << 40, CachedInputTokens: 1 << 39, OutputTokens: 1 << 40}); err != nil {
				t.Fatalf("Cost(%q): %v", m, err)
			}
		}
	})
}
