package redissync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
)

// Defaults.
const (
	// DefaultPrefix prefixes the Redis names the sync uses: the hash
	// "<prefix>:faults" and the channel "<prefix>:changed".
	DefaultPrefix = "llmops:chaos"
	// DefaultReconcileInterval is how often the fleet state is reloaded in
	// addition to the change notifications.
	DefaultReconcileInterval = 500 * time.Millisecond
)

// Client is the part of a go-redis client the sync uses; *redis.Client,
// *redis.ClusterClient and redis.UniversalClient satisfy it.
type Client interface {
	redis.Scripter
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

var (
	_ Client                     = (*redis.Client)(nil)
	_ Client                     = (*redis.ClusterClient)(nil)
	_ chaos.Controller           = (*Sync)(nil)
	_ interface{ Close() error } = (*Sync)(nil)
)

// Option configures a Sync. Options are created by the With functions of
// this package.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	prefix   string
	interval time.Duration
	onError  func(error)
}

// WithPrefix sets the prefix of the Redis names (default DefaultPrefix).
// Instances that share faults use the same prefix. Wrap it in braces (e.g.
// "{llmops:chaos}") to pin it to one Redis Cluster slot.
func WithPrefix(p string) Option {
	return optionFunc(func(c *config) error {
		if p == "" || strings.ContainsAny(p, " \r\n") {
			return fmt.Errorf("redissync: invalid prefix %q", p)
		}
		c.prefix = p
		return nil
	})
}

// WithReconcileInterval sets how often the whole state is reloaded besides
// the change notifications (default DefaultReconcileInterval). It bounds
// how late an instance that missed a notification (for example while
// reconnecting) catches up.
func WithReconcileInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 10*time.Millisecond || d > time.Minute {
			return fmt.Errorf("redissync: reconcile interval %s outside [10ms, 1m]", d)
		}
		c.interval = d
		return nil
	})
}

// WithErrorHandler sets the function told about background errors (a
// reload that failed, a record that could not be decoded). It runs on the
// sync's goroutine. By default such errors are dropped: the instance keeps
// its last known state either way.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) error {
		if f == nil {
			return fmt.Errorf("redissync: WithErrorHandler(nil)")
		}
		c.onError = f
		return nil
	})
}

// Sync keeps an Injector's faults equal to the fleet's, which live in
// Redis. Use it, not the Injector, as the admin handler's Controller.
//
// A Sync is safe for concurrent use by multiple goroutines. It owns one
// goroutine (and go-redis's pub/sub goroutine), stopped by Close.
type Sync struct {
	client  Client
	inj     *chaos.Injector
	cfg     config
	hash    string
	channel string

	// mu serializes every read-then-apply and write-then-apply, so an older
	// read is never applied over a newer one on this instance.
	mu sync.Mutex

	ps        *redis.PubSub
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New starts syncing inj with the faults stored in Redis under the
// configured prefix. It subscribes to change notifications and loads the
// current state before returning, so a new instance starts with the
// fleet's active faults. If Redis cannot be reached, New still returns a
// working Sync (the error goes to the error handler) that keeps retrying;
// only invalid configuration is an error. ctx bounds the initial load.
func New(ctx context.Context, client Client, inj *chaos.Injector, opts ...Option) (*Sync, error) {
	if client == nil || inj == nil {
		return nil, fmt.Errorf("redissync: New needs a client and an injector")
	}
	cfg := config{prefix: DefaultPrefix, interval: DefaultReconcileInterval}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("redissync: nil Option")
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Sync{
		client:  client,
		inj:     inj,
		cfg:     cfg,
		hash:    cfg.prefix + ":faults",
		channel: cfg.prefix + ":changed",
		ctx:     runCtx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	s.ps = client.Subscribe(ctx, s.channel)
	// Wait for the subscription before loading, so no change made after
	// the load can go unnoticed.
	if _, err := s.ps.Receive(ctx); err != nil {
		s.report(fmt.Errorf("redissync: subscribe: %w", err))
	}
	if err := s.Reconcile(ctx); err != nil {
		s.report(err)
	}
	go s.run(s.ps.Channel())
	return s, nil
}

// Clock returns the injector's clock, which the sync uses for every expiry
// decision.
func (s *Sync) Clock() clock.Clock { return s.inj.Clock() }

// Close stops the background goroutine and the subscription. The injector
// keeps its current faults, which still expire. Close is idempotent.
func (s *Sync) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.ps.Close()
		<-s.done
	})
	return err
}

func (s *Sync) report(err error) {
	if err != nil && s.cfg.onError != nil && s.ctx.Err() == nil {
		s.cfg.onError(err)
	}
}

func (s *Sync) run(msgs <-chan *redis.Message) {
	defer close(s.done)
	clk := s.inj.Clock()
	t := clk.NewTimer(s.cfg.interval)
	for {
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case _, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			s.report(s.Reconcile(s.ctx))
		case <-t.C():
			s.report(s.Reconcile(s.ctx))
			t = clk.NewTimer(s.cfg.interval)
		}
	}
}

// Reconcile loads the fleet's faults from Redis and applies them to the
// injector. When Redis cannot be reached the injector keeps its state (its
// faults still expire on time) and the error is returned.
func (s *Sync) Reconcile(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.client.HGetAll(ctx, s.hash).Result()
	if err != nil {
		return fmt.Errorf("redissync: load: %w", err)
	}
	flat := make([]string, 0, 2*len(m))
	for k, v := range m {
		flat = append(flat, k, v)
	}
	return s.applyLocked(flat)
}

// applyLocked decodes HGETALL's flat field/value list and loads it.
func (s *Sync) applyLocked(flat []string) error {
	faults := make([]chaos.Fault, 0, len(flat)/2)
	var bad int
	for i := 0; i+1 < len(flat); i += 2 {
		f, err := decode(flat[i+1])
		if err != nil {
			bad++
			continue
		}
		faults = append(faults, f)
	}
	// Deterministic order: by expiry, then ID.
	sortFaults(faults)
	err := s.inj.Load(faults)
	if bad > 0 {
		err = errors.Join(err, fmt.Errorf("redissync: %d undecodable record(s) in %s", bad, s.hash))
	}
	return err
}

// setScript removes expired entries, enforces the bound, stores the fault
// under its key (replacing the fault with the same mode, target and
// tenant), keeps the hash alive as long as its longest-lived fault,
// notifies the fleet and returns the new state.
var setScript = redis.NewScript(`
local now = tonumber(ARGV[3])
local keep = tonumber(ARGV[6])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local ok, rec = pcall(cjson.decode, all[i+1])
  local exp = nil
  if ok and type(rec) == 'table' then exp = tonumber(rec['expires_at_ns']) end
  if exp == nil or exp <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif all[i] ~= ARGV[1] then
    n = n + 1
    local ms = math.ceil((exp - now) / 1000000)
    if ms > keep then keep = ms end
  end
end
if n >= tonumber(ARGV[4]) then
  return redis.error_reply('TOOMANY too many active faults')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PUBLISH', ARGV[5], 'set')
return redis.call('HGETALL', KEYS[1])
`)

// clearScript deletes every fault, notifies the fleet and returns how many
// were active.
var clearScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 2, #all, 2 do
  local ok, rec = pcall(cjson.decode, all[i])
  if ok and type(rec) == 'table' then
    local exp = tonumber(rec['expires_at_ns'])
    if exp ~= nil and exp > now then n = n + 1 end
  end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'clear')
return n
`)

// Set stores the fault in Redis (atomically enforcing chaos.MaxFaults
// across the fleet), notifies every instance and applies the new state
// here before returning. If Redis cannot be reached nothing changes and
// the error is returned.
func (s *Sync) Set(ctx context.Context, spec chaos.Spec) (chaos.Fault, error) {
	f, err := s.inj.NewFault(spec)
	if err != nil {
		return chaos.Fault{}, err
	}
	rec, err := encode(f)
	if err != nil {
		return chaos.Fault{}, err
	}
	now := s.inj.Clock().Now()
	ttlMS := (f.TTL + time.Millisecond - 1) / time.Millisecond
	s.mu.Lock()
	defer s.mu.Unlock()
	flat, err := setScript.Run(ctx, s.client, []string{s.hash},
		f.Key(), rec, now.UnixNano(), chaos.MaxFaults, s.channel, int64(ttlMS)).StringSlice()
	if err != nil {
		if strings.HasPrefix(err.Error(), "TOOMANY") {
			return chaos.Fault{}, fmt.Errorf("redissync: %w (at most %d across the fleet)", chaos.ErrTooManyFaults, chaos.MaxFaults)
		}
		return chaos.Fault{}, fmt.Errorf("redissync: set: %w", err)
	}
	s.report(s.applyLocked(flat))
	return f, nil
}

// Faults reloads the fleet's faults and returns them. If Redis cannot be
// reached it returns the faults this instance currently applies.
func (s *Sync) Faults(ctx context.Context) ([]chaos.Fault, error) {
	if err := s.Reconcile(ctx); err != nil {
		s.report(err)
	}
	return s.inj.Faults(ctx)
}

// Clear removes every fault from Redis and from this instance, notifies
// the fleet and returns how many were active. If Redis cannot be reached
// nothing changes and the error is returned.
func (s *Sync) Clear(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.inj.Clock().Now()
	n, err := clearScript.Run(ctx, s.client, []string{s.hash}, now.UnixNano(), s.channel).Int()
	if err != nil {
		return 0, fmt.Errorf("redissync: clear: %w", err)
	}
	if err := s.inj.Load(nil); err != nil {
		return n, err
	}
	return n, nil
}

// record is a fault as stored in the hash; times are absolute so that the
// TTL is the same on every instance.
type record struct {
	ID           string  `json:"id"`
	Mode         string  `json:"mode"`
	Target       string  `json:"target"`
	Tenant       string  `json:"tenant,omitempty"`
	Probability  float64 `json:"probability"`
	TTLNS        int64   `json:"ttl_ns"`
	LatencyNS    int64   `json:"latency_ns,omitempty"`
	RetryAfterNS int64   `json:"retry_after_ns,omitempty"`
	ExpiresAtNS  int64   `json:"expires_at_ns"`
}

func encode(f chaos.Fault) (string, error) {
	b, err := json.Marshal(record{
		ID:           f.ID,
		Mode:         f.Mode.String(),
		Target:       f.Target.String(),
		Tenant:       f.Tenant,
		Probability:  f.Probability,
		TTLNS:        int64(f.TTL),
		LatencyNS:    int64(f.Latency),
		RetryAfterNS: int64(f.RetryAfter),
		ExpiresAtNS:  f.ExpiresAt.UnixNano(),
	})
	if err != nil {
		return "", fmt.Errorf("redissync: encode: %w", err)
	}
	return string(b), nil
}

func decode(s string) (chaos.Fault, error) {
	var r record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return chaos.Fault{}, err
	}
	mode, err := chaos.ParseMode(r.Mode)
	if err != nil {
		return chaos.Fault{}, err
	}
	target, err := chaos.ParseTarget(r.Target)
	if err != nil {
		return chaos.Fault{}, err
	}
	return chaos.Fault{
		Spec: chaos.Spec{
			Mode:        mode,
			Target:      target,
			Tenant:      r.Tenant,
			Probability: r.Probability,
			TTL:         time.Duration(r.TTLNS),
			Latency:     time.Duration(r.LatencyNS),
			RetryAfter:  time.Duration(r.RetryAfterNS),
		},
		ID:        r.ID,
		ExpiresAt: time.Unix(0, r.ExpiresAtNS),
	}, nil
}

func sortFaults(fs []chaos.Fault) {
	slices.SortFunc(fs, func(a, b chaos.Fault) int {
		if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
