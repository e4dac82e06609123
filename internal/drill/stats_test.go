package drill

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	s := make([]time.Duration, 100)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	tests := []struct {
		s    []time.Duration
		p    int
		want time.Duration
	}{
		{s, 50, 50}, {s, 95, 95}, {s, 99, 99}, {s, 100, 100},
		{s[:1], 50, 1}, {s[:1], 99, 1},
		{s[:10], 50, 5}, {s[:10], 95, 10}, {s[:10], 99, 10},
		{s[:3], 50, 2},
	}
	for _, tt := range tests {
		if got := percentile(tt.s, tt.p); got != tt.want {
			t.Errorf("p%d of %d samples = %v, want %v", tt.p, len(tt.s), got, tt.want)
		}
	}
}

func TestReservoirBoundsMemoryAndKeepsMax(t *testing.T) {
	tests := []struct {
		name      string
		max, n    int
		wantExact bool
	}{
		{"under the cap", 1000, 1000, true},
		{"over the cap", 100, 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(tt.n, tt.max)
			for i := 1; i <= tt.n; i++ {
				// Ascending except a spike in the middle.
				d := time.Duration(i) * time.Millisecond
				if i == tt.n/2 {
					d = time.Hour
				}
				c.add(result{status: 200, latency: d}, nil)
			}
			l := c.lat.stats()
			if len(c.lat.samples) > tt.max || l.Count != tt.n || l.Exact != tt.wantExact || l.Max != time.Hour {
				t.Fatalf("kept %d samples, stats %+v", len(c.lat.samples), l)
			}
			if !(l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
				t.Errorf("percentiles out of order: %+v", l)
			}
			// Sorted: 1..499 ms, 501..1000 ms, 1h; rank 500 is 501ms, rank 990 is 991ms.
			if tt.wantExact && (l.P50 != 501*time.Millisecond || l.P99 != 991*time.Millisecond) {
				t.Errorf("exact p50 %v p99 %v, want 501ms and 991ms", l.P50, l.P99)
			}
			if !tt.wantExact {
				// A uniform sample of 100 from 1..10000 ms: its median is
				// near 5 s; 5σ of the sample median is about 2.5 s.
				if l.P50 < 2500*time.Millisecond || l.P50 > 7500*time.Millisecond {
					t.Errorf("sampled p50 = %v, not near 5s", l.P50)
				}
			}
		})
	}
}

func TestKeysAreBounded(t *testing.T) {
	c := newCollector(0, 10)
	for i := range maxKeys + 10 {
		c.add(result{status: 200, instance: string(rune('a'+i%26)) + time.Duration(i).String()}, nil)
	}
	c.add(result{status: 200}, nil)
	var rep Report
	c.fill(&rep)
	if len(rep.Instances) != maxKeys+2 || rep.Instances[OtherKey] != 10 || rep.Instances[NoneKey] != 1 {
		t.Errorf("%d instance keys, other=%d none=%d; want %d, 10, 1", len(rep.Instances), rep.Instances[OtherKey], rep.Instances[NoneKey], maxKeys+2)
	}
}

// BenchmarkCollectorAdd is the drill's own cost per answer, so it stays far
// below a request's.
func BenchmarkCollectorAdd(b *testing.B) {
	c := newCollector(0, DefaultMaxSamples)
	r := result{status: 200, latency: 12 * time.Millisecond, instance: "agent-1", model: "gpt-4o", decision: "allow", fallbacks: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.add(r, nil)
		}
	})
}
