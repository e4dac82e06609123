package redisstore

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestKeysShareOneTag(t *testing.T) {
	s := &Store{prefix: DefaultPrefix}
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	got := s.keys("a}:{b", start)
	base := DefaultPrefix + "{YX06e2I}:1769904000000"
	want := []string{base, base + ":h"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("keys = %q, want %q", got, want)
		}
	}
	if s.Key("a}:{b", start) != base {
		t.Fatalf("Key = %q", s.Key("a}:{b", start))
	}
}

// The key cache answers every tenant and period with its own keys, through
// hits, collisions and evictions (more tenants than slots).
func TestCachedKeysMatchKeys(t *testing.T) {
	s := &Store{prefix: DefaultPrefix}
	periods := []time.Time{
		time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	tenants := make([]string, 3*keyCacheSize)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
	}
	tenants = append(tenants, "a}:{b", "\x00", strings.Repeat("x", 256))
	tests := []struct {
		name    string
		tenants []string
	}{
		{"few", tenants[:32]},
		{"more than the slots", tenants},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for pass := range 3 {
				for _, p := range periods {
					for _, tenant := range tt.tenants {
						pk, want := s.cachedKeys(tenant, p), s.keys(tenant, p)
						got := pk.keys
						for i, b := range pk.boxed {
							if b != any(want[i]) {
								t.Fatalf("boxed key %d = %v, want %q", i, b, want[i])
							}
						}
						if !slices.Equal(got[:], want[:]) {
							t.Fatalf("pass %d: cachedKeys(%q, %v) = %q, want %q", pass, tenant, p, got, want)
						}
					}
				}
			}
		})
	}
}
