package chaos

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// source is a concurrency-safe stream of random 64-bit values.
type source interface{ Uint64() uint64 }

// counterSource derives the n-th value from the seed and n alone
// (SplitMix64 over a Weyl sequence), so concurrent callers need only one
// atomic add and a sequence of calls from one goroutine is reproducible.
type counterSource struct {
	seed uint64
	n    atomic.Uint64
}

func (c *counterSource) Uint64() uint64 {
	z := c.seed + c.n.Add(1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// runtimeSource draws from math/rand/v2's top-level functions, which use
// the runtime's per-thread generator: no lock, no shared cache line. It is
// the default when no seed is given, since reproducibility is then not
// asked for.
type runtimeSource struct{}

func (runtimeSource) Uint64() uint64 { return rand.Uint64() }

// lockedSource guards a caller-supplied rand.Source, which need not be safe
// for concurrent use.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	v := l.src.Uint64()
	l.mu.Unlock()
	return v
}

// probThreshold maps a probability to the bound a 53-bit draw is compared
// against: a draw fires when draw>>11 < threshold. 0 never fires and
// alwaysFires (1<<53) always does.
func probThreshold(p float64) uint64 {
	if p >= 1 {
		return alwaysFires
	}
	if p <= 0 {
		return 0
	}
	return uint64(p * (1 << 53))
}

const alwaysFires = 1 << 53
