package sli

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLimiterConcurrentAdmitsExactlyMax(t *testing.T) {
	const max, goroutines, values = 50, 8, 500
	l := newLimiter(max)
	var mu sync.Mutex
	admitted := map[string]bool{}
	others := 0
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range values {
				v := fmt.Sprintf("v%d", (i*7+g)%values)
				got := l.admit(v)
				mu.Lock()
				switch got {
				case OtherValue:
					others++
				case v:
					admitted[v] = true
				default:
					t.Errorf("admit(%q) = %q", v, got)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(admitted) != max || l.size() != max {
		t.Fatalf("admitted %d distinct values (limiter holds %d), want %d", len(admitted), l.size(), max)
	}
	// Once admitted, a value stays admitted; others stay out.
	for v := range admitted {
		if l.admit(v) != v {
			t.Errorf("%q no longer admitted", v)
		}
	}
	if got := l.admit("new"); got != OtherValue {
		t.Errorf("value past the cap admitted as %q", got)
	}
	if got := newLimiter(10).admit(strings.Repeat("x", MaxAttributeValueLen+1)); got != OtherValue {
		t.Errorf("over-long value admitted")
	}
	if got := newLimiter(10).admit(strings.Repeat("x", MaxAttributeValueLen)); got == OtherValue {
		t.Errorf("value of the maximum length refused")
	}
}

func TestCacheBound(t *testing.T) {
	var c cache[int, int]
	builds := 0
	build := func(k int) int { builds++; return k * 2 }
	for k := range maxCacheEntries + 10 {
		if v := c.get(k, build); v != 2*k {
			t.Fatalf("get(%d) = %d", k, v)
		}
	}
	if n := len(*c.p.Load()); n != maxCacheEntries {
		t.Fatalf("cache holds %d entries, want %d", n, maxCacheEntries)
	}
	// Cached keys are not rebuilt; keys past the bound are built per call.
	builds = 0
	c.get(0, build)
	c.get(maxCacheEntries+5, build)
	if v, ok := c.load(maxCacheEntries + 5); ok || v != 0 {
		t.Error("key past the bound was cached")
	}
	if builds != 1 {
		t.Errorf("%d builds, want 1", builds)
	}
}
