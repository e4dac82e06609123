package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// Observer is told about every fault that hits a call. Implementations must
// be safe for concurrent use and should return quickly: they run on the
// caller's goroutine. sli's recorder is adapted to it by httpmw.
type Observer interface {
	// ChaosInjected reports that a fault of mode ("throttle", "malformed",
	// "outage", "latency") aimed at target ("model", "tools",
	// "tool:<name>") hit a call.
	ChaosInjected(mode, target string)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(mode, target string)

// ChaosInjected calls f(mode, target).
func (f ObserverFunc) ChaosInjected(mode, target string) { f(mode, target) }

// Option configures an Injector. Options are created by the With functions
// of this package.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	clock    clock.Clock
	seed     uint64
	seeded   bool
	src      rand.Source
	observer Observer
}

// WithClock sets the clock used for expiry and latency (default the wall
// clock).
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("chaos: WithClock(nil)")
		}
		cfg.clock = c
		return nil
	})
}

// WithSeed makes the injector's random decisions (which calls a fault hits,
// fault IDs, corruption choices) reproducible: the same seed and the same
// sequence of calls give the same results. It uses a lock-free
// counter-based generator shared by all callers (one atomic add per draw).
// Without it the injector draws from the runtime's per-thread generator,
// which is faster under parallel load but not reproducible.
func WithSeed(seed uint64) Option {
	return optionFunc(func(cfg *config) error {
		cfg.seed, cfg.seeded = seed, true
		return nil
	})
}

// WithRandSource makes the injector draw from src instead of its own
// generator. src need not be safe for concurrent use: the injector guards
// it with a mutex, which a call takes only when a fault matches it.
// WithRandSource and WithSeed are mutually exclusive.
func WithRandSource(src rand.Source) Option {
	return optionFunc(func(cfg *config) error {
		if src == nil {
			return fmt.Errorf("chaos: WithRandSource(nil)")
		}
		cfg.src = src
		return nil
	})
}

// WithObserver sets the hook told about every injection.
func WithObserver(o Observer) Option {
	return optionFunc(func(cfg *config) error {
		if o == nil {
			return fmt.Errorf("chaos: WithObserver(nil)")
		}
		cfg.observer = o
		return nil
	})
}

// Controller is what the admin handler drives: *Injector for one instance,
// redissync.Sync for a fleet.
type Controller interface {
	// Set validates spec and activates it, replacing an active fault with
	// the same mode, target and tenant.
	Set(ctx context.Context, spec Spec) (Fault, error)
	// Faults returns the active faults.
	Faults(ctx context.Context) ([]Fault, error)
	// Clear removes every fault and returns how many were active.
	Clear(ctx context.Context) (int, error)
}

var _ Controller = (*Injector)(nil)

// Injector decides, at each call through an edge, whether a fault hits it.
//
// The zero Injector is ready to use, injects nothing until a fault is set,
// and uses the wall clock and a random seed. A nil *Injector injects
// nothing. An Injector is safe for concurrent use by multiple goroutines
// and must not be copied after first use.
type Injector struct {
	state atomic.Pointer[snapshot] // nil when no fault is active

	mu     sync.Mutex // serializes writers; the hot path never takes it
	cfg    config
	src    source
	faults []Fault // set faults in the order they were set; may hold expired ones
}

// New returns an Injector configured by opts.
func New(opts ...Option) (*Injector, error) {
	var cfg config
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("chaos: nil Option")
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.src != nil && cfg.seeded {
		return nil, fmt.Errorf("chaos: WithSeed and WithRandSource are mutually exclusive")
	}
	return &Injector{cfg: cfg}, nil
}

// Clock returns the injector's clock.
func (in *Injector) Clock() clock.Clock { return clock.Or(in.cfg.clock) }

// armed is a fault compiled for the hot path.
type armed struct {
	target     Target
	tenant     string
	mode       Mode
	threshold  uint64
	expires    time.Duration // expiry as an offset from snapshot.anchor
	latency    time.Duration
	err        error
	modeName   string
	targetName string
}

// snapshot is an immutable view of the active faults.
type snapshot struct {
	faults []armed
	clock  clock.Clock
	// anchor is the clock's time when the snapshot was published; expiry
	// is checked as an offset from it. With the wall clock the anchor
	// carries a monotonic reading, so time.Since(anchor) reads only the
	// monotonic clock, which is about half the cost of time.Now.
	anchor time.Time
	real   bool
	owner  *Injector // pruned when a call finds an expired fault
	src    source
	obs    Observer
}

// modeRank gives the evaluation order: delays first, then failures, then
// corruption of a payload that was not failed.
func modeRank(m Mode) int {
	switch m {
	case Latency:
		return 0
	case Outage:
		return 1
	case Throttle:
		return 2
	default:
		return 3
	}
}

// Effect is what Inject decided for a call that was not failed.
type Effect struct {
	// Delay is the latency that was injected (already waited out).
	Delay time.Duration
	// seed drives Corrupt, so a corruption is reproducible; it is non-zero
	// exactly when a Malformed fault hit the call.
	seed uint64
}

// Malformed reports whether the caller must corrupt its payload with
// Corrupt before using it.
func (e Effect) Malformed() bool { return e.seed != 0 }

// Corrupt returns payload corrupted as the Malformed fault asks (see the
// package function Corrupt), or payload itself when no Malformed fault hit
// the call.
func (e Effect) Corrupt(payload []byte) []byte {
	if e.seed == 0 {
		return payload
	}
	return Corrupt(payload, rand.New(rand.NewPCG(e.seed, 0x6c6c6d6f7073)))
}

// Inject decides whether a fault hits a call at the edge at (Model() or
// Tool(name)) for tenant. Latency faults that hit are waited out here, on
// the injector's clock, and cut short by ctx (the error then wraps
// ctx.Err()). A Throttle or Outage hit returns a *ThrottleError or
// *OutageError. A Malformed hit is reported in the Effect.
//
// When no fault is active Inject costs one atomic load.
func (in *Injector) Inject(ctx context.Context, at Target, tenant string) (Effect, error) {
	if in == nil {
		return Effect{}, nil
	}
	if s := in.state.Load(); s != nil {
		return s.inject(ctx, at, tenant)
	}
	return Effect{}, nil
}

func (s *snapshot) inject(ctx context.Context, at Target, tenant string) (Effect, error) {
	var (
		eff     Effect
		err     error
		now     time.Duration
		haveNow bool
		expired bool
	)
	for i := range s.faults {
		f := &s.faults[i]
		if !f.target.covers(at) || (f.tenant != "" && f.tenant != tenant) {
			continue
		}
		if !haveNow {
			if s.real {
				now = time.Since(s.anchor)
			} else {
				now = s.clock.Now().Sub(s.anchor)
			}
			haveNow = true
		}
		if now >= f.expires {
			expired = true
			continue
		}
		if f.threshold == 0 || (f.threshold != alwaysFires && s.src.Uint64()>>11 >= f.threshold) {
			continue
		}
		if s.obs != nil {
			s.obs.ChaosInjected(f.modeName, f.targetName)
		}
		switch f.mode {
		case Latency:
			eff.Delay += f.latency
			continue
		case Malformed:
			eff.seed = s.src.Uint64() | 1
			continue
		}
		err = f.err
		break
	}
	if expired {
		s.owner.prune()
	}
	if eff.Delay > 0 {
		t := s.clock.NewTimer(eff.Delay)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return eff, fmt.Errorf("chaos: injected latency interrupted: %w", ctx.Err())
		}
	}
	return eff, err
}

// prune drops expired faults from the hot path, unless a writer is busy (it
// publishes a pruned snapshot itself).
func (in *Injector) prune() {
	if !in.mu.TryLock() {
		return
	}
	defer in.mu.Unlock()
	in.publishLocked(in.Clock().Now())
}

// initLocked sets up the random source on first use.
func (in *Injector) initLocked() {
	if in.src != nil {
		return
	}
	switch {
	case in.cfg.src != nil:
		in.src = &lockedSource{src: in.cfg.src}
	case in.cfg.seeded:
		in.src = &counterSource{seed: in.cfg.seed}
	default:
		in.src = runtimeSource{}
	}
}

// publishLocked drops the faults expired at now and publishes a snapshot of
// the rest (nil when none is left).
func (in *Injector) publishLocked(now time.Time) {
	in.faults = slices.DeleteFunc(in.faults, func(f Fault) bool { return !f.Active(now) })
	if len(in.faults) == 0 {
		in.faults = nil
		in.state.Store(nil)
		return
	}
	clk := in.Clock()
	s := &snapshot{
		faults: make([]armed, 0, len(in.faults)),
		clock:  clk,
		anchor: now,
		real:   clk == clock.Real,
		owner:  in,
		src:    in.src,
		obs:    in.cfg.observer,
	}
	for _, f := range in.faults {
		a := armed{
			target:     f.Target,
			tenant:     f.Tenant,
			mode:       f.Mode,
			threshold:  probThreshold(f.Probability),
			expires:    f.ExpiresAt.Sub(now),
			latency:    f.Latency,
			modeName:   f.Mode.String(),
			targetName: f.Target.String(),
		}
		switch f.Mode {
		case Throttle:
			a.err = &ThrottleError{Target: a.targetName, RetryAfter: f.RetryAfter}
		case Outage:
			a.err = &OutageError{Target: a.targetName}
		}
		s.faults = append(s.faults, a)
	}
	slices.SortStableFunc(s.faults, func(a, b armed) int { return modeRank(a.mode) - modeRank(b.mode) })
	in.state.Store(s)
}

// NewFault validates spec, applies its defaults and returns the Fault it
// would become if set now: with a fresh ID and ExpiresAt = now + TTL on the
// injector's clock. It changes nothing; redissync uses it to stamp a fault
// before storing it.
func (in *Injector) NewFault(spec Spec) (Fault, error) {
	if err := spec.Validate(); err != nil {
		return Fault{}, err
	}
	spec = spec.withDefaults()
	in.mu.Lock()
	in.initLocked()
	id := in.src.Uint64()
	in.mu.Unlock()
	return Fault{
		Spec:      spec,
		ID:        fmt.Sprintf("%016x", id),
		ExpiresAt: in.Clock().Now().Add(spec.TTL),
	}, nil
}

// Set validates spec and activates it on this injector, replacing an active
// fault with the same mode, target and tenant. It fails with an error
// matching ErrInvalidFault or ErrTooManyFaults. ctx is unused: Set is
// local.
func (in *Injector) Set(_ context.Context, spec Spec) (Fault, error) {
	f, err := in.NewFault(spec)
	if err != nil {
		return Fault{}, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.Clock().Now()
	in.faults = slices.DeleteFunc(in.faults, func(g Fault) bool { return !g.Active(now) })
	key := f.Key()
	i := slices.IndexFunc(in.faults, func(g Fault) bool { return g.Key() == key })
	switch {
	case i >= 0:
		in.faults = slices.Delete(in.faults, i, i+1)
	case len(in.faults) >= MaxFaults:
		return Fault{}, fmt.Errorf("%w (at most %d)", ErrTooManyFaults, MaxFaults)
	}
	in.faults = append(in.faults, f)
	in.publishLocked(now)
	return f, nil
}

// Load replaces every fault with faults (redissync calls it with the
// fleet's state). Expired faults are dropped; for faults sharing a key the
// last wins. Invalid faults are skipped, and so are faults beyond
// MaxFaults; the error then reports them, but the valid rest is applied.
func (in *Injector) Load(faults []Fault) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.initLocked()
	now := in.Clock().Now()
	var bad, dropped int
	next := make([]Fault, 0, min(len(faults), MaxFaults))
	for _, f := range faults {
		if f.Validate() != nil || f.TTL == 0 || f.ID == "" || (f.Mode == Throttle && f.RetryAfter == 0) {
			bad++
			continue
		}
		if !f.Active(now) {
			continue
		}
		key := f.Key()
		if i := slices.IndexFunc(next, func(g Fault) bool { return g.Key() == key }); i >= 0 {
			next = slices.Delete(next, i, i+1)
		}
		if len(next) >= MaxFaults {
			dropped++
			continue
		}
		next = append(next, f)
	}
	in.faults = next
	in.publishLocked(now)
	switch {
	case bad > 0:
		return fmt.Errorf("%w: %d invalid fault(s) skipped, %d beyond the bound", ErrInvalidFault, bad, dropped)
	case dropped > 0:
		return fmt.Errorf("%w: %d fault(s) beyond the bound skipped", ErrTooManyFaults, dropped)
	}
	return nil
}

// Faults returns the active faults in the order they were set. ctx is
// unused.
func (in *Injector) Faults(context.Context) ([]Fault, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.Clock().Now()
	out := make([]Fault, 0, len(in.faults))
	for _, f := range in.faults {
		if f.Active(now) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Clear removes every fault and returns how many were active. ctx is
// unused.
func (in *Injector) Clear(context.Context) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.Clock().Now()
	n := 0
	for _, f := range in.faults {
		if f.Active(now) {
			n++
		}
	}
	in.faults = nil
	in.state.Store(nil)
	return n, nil
}
