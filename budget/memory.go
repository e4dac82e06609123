package budget

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

const memoryShards = 64

// Memory is an in-process Store. Tenants are spread over 64 shards, each
// with its own lock, so different tenants rarely contend; the operations
// of one tenant are serialised, which is what makes check-and-hold atomic.
// Holds are kept in a per-period heap ordered by expiry, so reclaiming
// expired holds costs O(log n) each. A period's data is dropped once its
// KeepUntil has passed; tenants with no period left are evicted.
//
// Memory suits a single instance, tests and development. Its zero value
// is not usable; create it with NewMemory. It is safe for concurrent use
// by multiple goroutines.
type Memory struct {
	seed   maphash.Seed
	newest atomic.Int64 // newest period start seen, Unix ms
	_      [48]byte     // shards start on their own cache line
	shards [memoryShards]memShard
}

var (
	_ Store = (*Memory)(nil)
	_ local = (*Memory)(nil)
)

type memShard struct {
	mu      sync.Mutex
	tenants map[string]*memTenant
	_       [48]byte
}

type memTenant struct {
	periods []*memPeriod // oldest first
}

type memPeriod struct {
	start     int64
	keepUntil int64
	spent     int64
	held      int64
	index     map[uint64]int32 // hold id -> position in heap
	heap      []memHold        // min-heap by expiry
	tomb      map[uint64]int64 // expired, unsettled hold id -> expiry
	tombMin   int64
	forced    map[uint64]int64 // id charged with Force -> time
	forcedMin int64
}

type memHold struct {
	id     uint64
	exp    int64
	amount int64
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tenants = make(map[string]*memTenant)
	}
	return m
}

func (*Memory) neverBlocks() {}

func (m *Memory) shard(tenant string) *memShard {
	return &m.shards[maphash.String(m.seed, tenant)%memoryShards]
}

// Reserve implements Store.
func (m *Memory) Reserve(_ context.Context, a ReserveArgs) (ReserveResult, error) {
	now := a.Now.UnixMilli()
	if start, newest := a.Period.Start.UnixMilli(), m.newest.Load(); start > newest && m.newest.CompareAndSwap(newest, start) {
		m.evict(now)
	}
	sh := m.shard(a.Tenant)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p := sh.period(a.Tenant, a.Period.Start.UnixMilli(), a.KeepUntil.UnixMilli(), now, true)
	if p == nil {
		return ReserveResult{Decision: Block}, ErrPeriodEvicted
	}
	p.sweep(now, a.ForgetBefore.UnixMilli())
	if _, ok := p.index[a.ID]; ok { // a repeated call: already held
		d := Allow
		if p.spent+p.held >= a.DownshiftAt {
			d = Downshift
		}
		return ReserveResult{Decision: d, Spent: p.spent, Held: p.held}, nil
	}
	level := p.spent + p.held + a.Estimate
	if a.Limit <= 0 || level >= a.Limit {
		return ReserveResult{Decision: Block, Spent: p.spent, Held: p.held}, nil
	}
	p.push(memHold{id: a.ID, exp: a.Expires.UnixMilli(), amount: a.Estimate})
	p.held += a.Estimate
	d := Allow
	if level >= a.DownshiftAt {
		d = Downshift
	}
	return ReserveResult{Decision: d, Spent: p.spent, Held: p.held}, nil
}

// Settle implements Store.
func (m *Memory) Settle(_ context.Context, a SettleArgs) (Outcome, error) {
	return m.finish(a, true), nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, a SettleArgs) (Outcome, error) {
	return m.finish(a, false), nil
}

func (m *Memory) finish(a SettleArgs, settle bool) Outcome {
	now := a.Now.UnixMilli()
	sh := m.shard(a.Tenant)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p := sh.period(a.Tenant, a.Period.Start.UnixMilli(), a.KeepUntil.UnixMilli(), now, settle && a.Force)
	if p == nil {
		return Duplicate
	}
	if pos, ok := p.index[a.ID]; ok {
		h := p.remove(int(pos))
		p.held -= h.amount
		if settle {
			p.spent += a.Actual
		}
		if h.exp <= now {
			return Late
		}
		return Applied
	}
	if _, ok := p.tomb[a.ID]; ok {
		delete(p.tomb, a.ID)
		if settle {
			p.spent += a.Actual
		}
		return Late
	}
	if settle && a.Force {
		p.trimForced(a.ForgetBefore.UnixMilli())
		if _, ok := p.forced[a.ID]; ok {
			return Duplicate
		}
		if p.forced == nil {
			p.forced = make(map[uint64]int64)
		}
		if len(p.forced) == 0 || now < p.forcedMin {
			p.forcedMin = now
		}
		p.forced[a.ID] = now
		p.spent += a.Actual
		return Applied
	}
	return Duplicate
}

// Usage implements Store.
func (m *Memory) Usage(_ context.Context, a UsageArgs) (Usage, error) {
	now := a.Now.UnixMilli()
	sh := m.shard(a.Tenant)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.tenants[a.Tenant]
	if t == nil {
		return Usage{}, nil
	}
	start := a.Period.Start.UnixMilli()
	for _, p := range t.periods {
		if p.start != start || p.keepUntil <= now {
			continue
		}
		held := p.held
		if len(p.heap) > 0 && p.heap[0].exp <= now {
			for _, h := range p.heap {
				if h.exp <= now {
					held -= h.amount
				}
			}
		}
		return Usage{Spent: p.spent, Held: held}, nil
	}
	return Usage{}, nil
}

// period finds (or, with create, makes) the tenant's period starting at
// start, dropping periods whose KeepUntil has passed. It returns nil for a
// missing period without create, and for one whose KeepUntil has passed.
func (sh *memShard) period(tenant string, start, keepUntil, now int64, create bool) *memPeriod {
	t := sh.tenants[tenant]
	if t == nil {
		if !create {
			return nil
		}
		t = &memTenant{}
		sh.tenants[tenant] = t
	}
	// Fast path: the newest period.
	if n := len(t.periods); n > 0 && t.periods[n-1].start == start {
		return t.periods[n-1]
	}
	t.evict(now)
	for _, p := range t.periods {
		if p.start == start {
			return p
		}
	}
	if !create || keepUntil <= now {
		return nil
	}
	p := &memPeriod{start: start, keepUntil: keepUntil, index: make(map[uint64]int32)}
	i := len(t.periods)
	for i > 0 && t.periods[i-1].start > start {
		i--
	}
	t.periods = append(t.periods, nil)
	copy(t.periods[i+1:], t.periods[i:])
	t.periods[i] = p
	return p
}

// evict drops expired periods of every tenant and forgets tenants left
// with none. It runs when the store first sees a new period, so its cost,
// one pass over the tenants, is paid once per period.
func (m *Memory) evict(now int64) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for name, t := range sh.tenants {
			t.evict(now)
			if len(t.periods) == 0 {
				delete(sh.tenants, name)
			}
		}
		sh.mu.Unlock()
	}
}

func (t *memTenant) evict(now int64) {
	kept := t.periods[:0]
	for _, p := range t.periods {
		if p.keepUntil > now {
			kept = append(kept, p)
		}
	}
	clear(t.periods[len(kept):])
	t.periods = kept
}

// sweep returns the holds that expired at or before now and forgets the
// expired holds older than forgetBefore.
func (p *memPeriod) sweep(now, forgetBefore int64) {
	for len(p.heap) > 0 && p.heap[0].exp <= now {
		h := p.remove(0)
		p.held -= h.amount
		if p.tomb == nil {
			p.tomb = make(map[uint64]int64)
		}
		if len(p.tomb) == 0 || h.exp < p.tombMin {
			p.tombMin = h.exp
		}
		p.tomb[h.id] = h.exp
	}
	if len(p.tomb) > 0 && p.tombMin < forgetBefore {
		p.tombMin = forgetOlder(p.tomb, forgetBefore, now)
	}
}

func (p *memPeriod) trimForced(forgetBefore int64) {
	if len(p.forced) == 0 || p.forcedMin >= forgetBefore {
		return
	}
	p.forcedMin = forgetOlder(p.forced, forgetBefore, forgetBefore)
}

// forgetOlder deletes the entries of m whose time is before forgetBefore and
// returns the least of bound and the times that remain.
func forgetOlder(m map[uint64]int64, forgetBefore, bound int64) int64 {
	least := bound
	for id, t := range m {
		if t < forgetBefore {
			delete(m, id)
		} else if t < least {
			least = t
		}
	}
	return least
}

func (p *memPeriod) push(h memHold) {
	p.heap = append(p.heap, h)
	i := len(p.heap) - 1
	p.index[h.id] = int32(i)
	p.up(i)
}

func (p *memPeriod) remove(i int) memHold {
	h := p.heap[i]
	last := len(p.heap) - 1
	if i != last {
		p.heap[i] = p.heap[last]
		p.index[p.heap[i].id] = int32(i)
	}
	p.heap = p.heap[:last]
	delete(p.index, h.id)
	if i < last {
		if !p.down(i) {
			p.up(i)
		}
	}
	return h
}

func (p *memPeriod) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if p.heap[parent].exp <= p.heap[i].exp {
			return
		}
		p.swap(i, parent)
		i = parent
	}
}

func (p *memPeriod) down(i int) bool {
	start, n := i, len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && p.heap[r].exp < p.heap[l].exp {
			c = r
		}
		if p.heap[i].exp <= p.heap[c].exp {
			break
		}
		p.swap(i, c)
		i = c
	}
	return i > start
}

func (p *memPeriod) swap(i, j int) {
	p.heap[i], p.heap[j] = p.heap[j], p.heap[i]
	p.index[p.heap[i].id] = int32(i)
	p.index[p.heap[j].id] = int32(j)
}
