package sli

import (
	"strings"
	"sync"
	"sync/atomic"
)

// OtherValue replaces an attribute value once its instrument has seen the
// maximum number of distinct values for that attribute, and replaces values
// longer than MaxAttributeValueLen bytes.
const OtherValue = "_other"

// MaxAttributeValueLen is the longest attribute value recorded as is.
const MaxAttributeValueLen = 128

// limiter admits at most max distinct values of one attribute of one
// instrument group; later values become OtherValue. Reads are lock-free (an
// atomic load of an immutable map); an admission copies the map, which is
// cheap because it never holds more than max entries.
type limiter struct {
	max  int
	seen atomic.Pointer[map[string]string]
	mu   sync.Mutex
}

func newLimiter(max int) *limiter {
	l := &limiter{max: max}
	m := map[string]string{}
	l.seen.Store(&m)
	return l
}

// admit returns v when it may be recorded, OtherValue otherwise. The
// returned string is the admitted copy, so callers can use it as a map key
// without keeping the caller's buffer alive.
func (l *limiter) admit(v string) string {
	if s, ok := (*l.seen.Load())[v]; ok {
		return s
	}
	if len(v) > MaxAttributeValueLen || v == OtherValue {
		return OtherValue
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.seen.Load()
	if s, ok := old[v]; ok {
		return s
	}
	if len(old) >= l.max {
		return OtherValue
	}
	next := make(map[string]string, len(old)+1)
	for k, s := range old {
		next[k] = s
	}
	s := strings.Clone(v) // own copy: v may alias a caller's buffer
	next[s] = s
	l.seen.Store(&next)
	return s
}

// size returns the number of admitted values.
func (l *limiter) size() int { return len(*l.seen.Load()) }

// maxCacheEntries bounds every cache of prebuilt attribute options. Keys
// are values that passed the limiters, so the bound is only reached with
// many limited attributes combined; beyond it, options are built per call
// (correct, but allocating).
const maxCacheEntries = 2048

// cache maps a key of admitted attribute values to prebuilt measurement
// options. Reads are lock-free (an atomic load of an immutable map); a miss
// builds the value once and publishes a copy of the map with it. Copying is
// affordable because misses are rare (the first event of a combination) and
// the map never exceeds maxCacheEntries.
type cache[K comparable, V any] struct {
	p  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

// load returns the cached value for k.
func (c *cache[K, V]) load(k K) (V, bool) {
	if m := c.p.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// get returns the cached value for k, building and caching it on a miss.
// Hot paths call load first so that no func value is made on a hit.
func (c *cache[K, V]) get(k K, build func(K) V) V {
	if v, ok := c.load(k); ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.p.Load(); m != nil {
		old = *m
	}
	if v, ok := old[k]; ok {
		return v
	}
	v := build(k)
	if len(old) < maxCacheEntries {
		next := make(map[K]V, len(old)+1)
		for k2, v2 := range old {
			next[k2] = v2
		}
		next[k] = v
		c.p.Store(&next)
	}
	return v
}
