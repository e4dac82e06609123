package redisstore

import (
	"testing"
	"time"
)

func TestKeysShareOneTag(t *testing.T) {
	s := &Store{prefix: DefaultPrefix}
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	got := s.keys("a}:{b", start, 4)
	base := DefaultPrefix + "{YX06e2I}:1769904000000"
	want := []string{base, base + ":h", base + ":x", base + ":f"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("keys = %q, want %q", got, want)
		}
	}
	if s.Key("a}:{b", start) != base {
		t.Fatalf("Key = %q", s.Key("a}:{b", start))
	}
}
