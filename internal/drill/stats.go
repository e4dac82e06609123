package drill

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxKeys bounds the distinct instance ids and model names a report keeps;
// further values are counted under OtherKey (NoneKey and OtherKey do not
// count against the bound).
const maxKeys = 1024

// maxKeyLen bounds one instance id or model name.
const maxKeyLen = 128

// Keys used in Report.Instances and Report.Models for responses without the
// header and for values past the cardinality bound.
const (
	NoneKey  = "(none)"
	OtherKey = "(other)"
)

// Transport error kinds, the keys of Report.Errors.
const (
	ErrKindTimeout = "timeout" // the per-request timeout or a network timeout
	ErrKindRefused = "refused" // connection refused
	ErrKindReset   = "reset"   // connection reset or closed mid-response
	ErrKindDNS     = "dns"     // the host did not resolve
	ErrKindOther   = "other"
)

// result is what one load request produced.
type result struct {
	status    int    // 0 for a transport error
	errKind   string // for a transport error
	latency   time.Duration
	instance  string
	model     string
	decision  string
	fallbacks int64
	repairs   int64
	badHeader bool
	block     bool // 429 with code budget_exceeded
	late      bool
	canceled  bool // aborted by the caller's context
}

// collector aggregates results; safe for concurrent use.
type collector struct {
	mu        sync.Mutex
	planned   int
	sent      int
	dropped   int
	late      int
	canceled  int
	completed int
	successes int
	transport int
	dialOnly  bool // every transport error so far was a dial failure
	firstErr  error
	status    map[int]int
	errs      map[string]int
	instances map[string]int
	models    map[string]int
	healing   Healing
	lat       reservoir
}

func newCollector(planned, maxSamples int) *collector {
	return &collector{
		planned:   planned,
		dialOnly:  true,
		status:    map[int]int{},
		errs:      map[string]int{},
		instances: map[string]int{},
		models:    map[string]int{},
		lat:       reservoir{max: maxSamples, rnd: rand.New(rand.NewPCG(0x5eed, 0xd1211))},
	}
}

func (c *collector) sentOne() {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
}

func (c *collector) droppedOne() {
	c.mu.Lock()
	c.dropped++
	c.mu.Unlock()
}

// add records one request's outcome; err is its transport error, if any.
func (c *collector) add(r result, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.late {
		c.late++
	}
	if r.canceled {
		c.canceled++
		return
	}
	c.completed++
	if r.status == 0 {
		c.transport++
		c.errs[r.errKind]++
		if c.firstErr == nil {
			c.firstErr = err
		}
		if !isDialError(err) {
			c.dialOnly = false
		}
		return
	}
	c.status[r.status]++
	if r.status/100 == 2 {
		c.successes++
		if r.fallbacks > 0 || r.repairs > 0 {
			c.healing.Healed++
		}
	}
	c.lat.add(r.latency)
	bump(c.instances, r.instance)
	if r.model != "" {
		bump(c.models, r.model)
	}
	c.healing.Fallbacks += r.fallbacks
	c.healing.Repairs += r.repairs
	if r.badHeader {
		c.healing.BadHeaders++
	}
	switch {
	case r.decision == "downshift":
		c.healing.Downshifts++
	case r.decision == "block" || r.block:
		c.healing.Blocks++
	}
}

func bump(m map[string]int, k string) {
	switch {
	case k == "":
		k = NoneKey
	case len(k) > maxKeyLen:
		k = k[:maxKeyLen]
	}
	if _, ok := m[k]; !ok && k != NoneKey && distinct(m) >= maxKeys {
		k = OtherKey
	}
	m[k]++
}

// distinct returns the number of real values counted in m.
func distinct(m map[string]int) int {
	n := len(m)
	for _, k := range [...]string{NoneKey, OtherKey} {
		if _, ok := m[k]; ok {
			n--
		}
	}
	return n
}

// unreachable returns the first transport error when no request got an
// answer and every failure was a dial failure.
func (c *collector) unreachable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.transport > 0 && c.transport == c.completed && c.dialOnly {
		return c.firstErr
	}
	return nil
}

func (c *collector) snapshot(elapsed time.Duration, inFlight int) Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{
		Elapsed:         elapsed,
		Planned:         c.planned,
		Sent:            c.sent,
		Dropped:         c.dropped,
		InFlight:        inFlight,
		Completed:       c.completed,
		Successes:       c.successes,
		TransportErrors: c.transport,
		Status:          make(map[int]int, len(c.status)),
	}
	for k, v := range c.status {
		s.Status[k] = v
	}
	return s
}

// fill copies the aggregate into rep.
func (c *collector) fill(rep *Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep.Planned = c.planned
	rep.Sent = c.sent
	rep.Dropped = c.dropped
	rep.Late = c.late
	rep.Canceled = c.canceled
	rep.Completed = c.completed
	rep.Successes = c.successes
	rep.TransportErrors = c.transport
	rep.SuccessRatio = ratio(c.successes, c.completed)
	rep.Status = cloneMap(c.status)
	rep.Errors = cloneMap(c.errs)
	rep.Instances = cloneMap(c.instances)
	rep.Models = cloneMap(c.models)
	rep.Healing = c.healing
	rep.Latency = c.lat.stats()
}

func cloneMap[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// reservoir keeps every latency up to max samples, then a uniform random
// sample of max of them (Vitter's algorithm R) with a fixed seed, so the
// memory is bounded and a rerun over the same latencies gives the same
// figures. The maximum is always exact.
type reservoir struct {
	max     int
	rnd     *rand.Rand
	seen    int
	samples []time.Duration
	maxSeen time.Duration
}

func (r *reservoir) add(d time.Duration) {
	r.seen++
	if d > r.maxSeen {
		r.maxSeen = d
	}
	if len(r.samples) < r.max {
		r.samples = append(r.samples, d)
		return
	}
	if j := r.rnd.IntN(r.seen); j < r.max {
		r.samples[j] = d
	}
}

func (r *reservoir) stats() Latency {
	l := Latency{Count: r.seen, Exact: r.seen == len(r.samples), Max: r.maxSeen}
	if len(r.samples) == 0 {
		return l
	}
	s := slices.Clone(r.samples)
	slices.Sort(s)
	l.P50 = percentile(s, 50)
	l.P95 = percentile(s, 95)
	l.P99 = percentile(s, 99)
	return l
}

// percentile returns the nearest-rank percentile p (0 < p <= 100) of the
// sorted slice s: the smallest sample with at least p% of the samples at or
// below it.
func percentile(s []time.Duration, p int) time.Duration {
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}
