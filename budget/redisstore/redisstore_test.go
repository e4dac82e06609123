package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/redisstore"
	"github.com/llmops-go/llmops/budget/storetest"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // connection-refused noise while a server is stopped on purpose
	os.Exit(redistest.Main(m))
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var (
	_ redisstore.Client = (*redis.Client)(nil)
	_ redisstore.Client = (*redis.ClusterClient)(nil)
	_ redisstore.Client = (*redis.Ring)(nil)
)

var prefixes atomic.Int64

func newClient(t testing.TB, addr string, hooks ...redis.Hook) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		MaxRetries:            1,
	})
	for _, h := range hooks {
		c.AddHook(h)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newStore returns a store with its own client and its own key prefix on
// the shared server.
func newStore(t testing.TB, addr string, hooks ...redis.Hook) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(newClient(t, addr, hooks...), redisstore.WithPrefix(fmt.Sprintf("test%d:", prefixes.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Shared(t)
	storetest.Run(t, func(t *testing.T) budget.Store { return newStore(t, srv.Addr()) })
}

func TestConformanceRing(t *testing.T) {
	srv := redistest.Shared(t)
	storetest.Run(t, func(t *testing.T) budget.Store {
		ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"one": srv.Addr()}})
		t.Cleanup(func() { _ = ring.Close() })
		s, err := redisstore.New(ring, redisstore.WithPrefix(fmt.Sprintf("ring%d:", prefixes.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestManyInstances is the multi-instance race check: 4 Enforcers, each
// with its own Redis client, x 32 goroutines on one Redis.
func TestManyInstances(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := fmt.Sprintf("many%d:", prefixes.Add(1))
	var stores []budget.Store
	for range 4 {
		s, err := redisstore.New(newClient(t, srv.Addr()), redisstore.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	n := 100
	if testing.Short() {
		n = 20
	}
	storetest.Concurrent(t, stores, 32, n)
}

func TestNewRejects(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redisstore.New(nil); !errors.Is(err, budget.ErrInvalidConfig) {
		t.Fatalf("nil client: %v", err)
	}
	for _, p := range []string{"a{", "}", strings.Repeat("p", 65)} {
		if _, err := redisstore.New(c, redisstore.WithPrefix(p)); !errors.Is(err, budget.ErrInvalidConfig) {
			t.Fatalf("prefix %q: %v", p, err)
		}
	}
	if _, err := redisstore.New(c, nil); !errors.Is(err, budget.ErrInvalidConfig) {
		t.Fatalf("nil option: %v", err)
	}
}

// countHook counts the commands a client sends.
type countHook struct {
	mu    sync.Mutex
	names []string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.names = append(h.names, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		for _, c := range cmds {
			h.names = append(h.names, "pipeline:"+c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.names
	h.names = nil
	return n
}

func newEnforcer(t *testing.T, s budget.Store, opts ...budget.Option) *budget.Enforcer {
	t.Helper()
	e, err := budget.New(s, append([]budget.Option{budget.WithDefaultLimit(1_000_000), budget.WithClock(clock.NewFake(storetest.Start()))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOneRoundTrip(t *testing.T) {
	srv := redistest.Shared(t)
	hook := &countHook{}
	e := newEnforcer(t, newStore(t, srv.Addr(), hook))
	ctx := context.Background()
	// Warm up: the first call of each script may need EVAL after a
	// NOSCRIPT if the server has not seen it yet.
	r, _ := e.Reserve(ctx, "rt", 10)
	_ = r.Settle(ctx, 5)
	r, _ = e.Reserve(ctx, "rt", 10)
	_ = r.Release(ctx)
	hook.take()

	check := func(op string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if got := hook.take(); len(got) != 1 || got[0] != "evalsha" {
			t.Fatalf("%s sent %v, want exactly one evalsha", op, got)
		}
	}
	for range 3 {
		var r budget.Reservation
		check("Reserve", func() (err error) { r, err = e.Reserve(ctx, "rt", 10); return err })
		check("Settle", func() error { return r.Settle(ctx, 7) })
		check("Reserve", func() (err error) { r, err = e.Reserve(ctx, "rt", 10); return err })
		check("Release", func() error { return r.Release(ctx) })
		check("Status", func() error { _, err := e.Status(ctx, "rt"); return err })
	}
}

func TestScriptFlushKeepsDecisions(t *testing.T) {
	srv := redistest.Shared(t)
	hook := &countHook{}
	e := newEnforcer(t, newStore(t, srv.Addr(), hook))
	ctx := context.Background()
	if _, err := e.Status(ctx, "flush"); err != nil { // opens the connection
		t.Fatal(err)
	}
	steps := []struct {
		settle int64
		want   budget.Decision
	}{
		{798_999, budget.Allow},     // level 0 + 1,000
		{1, budget.Allow},           // level 798,999 + 1,000 = 799,999
		{198_000, budget.Downshift}, // level 799,000 + 1,000 = 800,000: exactly 80 %
		{1_999, budget.Downshift},   // level 997,000 + 1,000
		{1, budget.Downshift},       // level 998,999 + 1,000 = 999,999
		{0, budget.Block},           // level 999,000 + 1,000 = 1,000,000: exactly 100 %
	}
	for i, st := range steps {
		if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		hook.take()
		r, err := e.Reserve(ctx, "flush", 1_000)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if r.Decision != st.want {
			t.Fatalf("step %d: %v (spent %d held %d), want %v", i, r.Decision, r.Spent, r.Held, st.want)
		}
		if got := hook.take(); len(got) != 2 || got[0] != "evalsha" || got[1] != "eval" {
			t.Fatalf("step %d: after SCRIPT FLUSH sent %v, want evalsha (NOSCRIPT) then eval", i, got)
		}
		if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		if r.Decision.Admitted() {
			if err := r.Settle(ctx, st.settle); err != nil {
				t.Fatalf("step %d settle: %v", i, err)
			}
		}
	}
	status, err := e.Status(ctx, "flush")
	if err != nil {
		t.Fatal(err)
	}
	if status.Spent != 999_000 || status.Held != 0 {
		t.Fatalf("spent %d held %d after flushes, want %d 0", status.Spent, status.Held, 999_000)
	}
}

var keyPattern = regexp.MustCompile(`^hostile:\{[A-Za-z0-9_-]+\}:[0-9]+(:h)?$`)

func TestHostileTenantKeys(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr())
	s, err := redisstore.New(c, redisstore.WithPrefix("hostile:"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fc := clock.NewFake(storetest.Start())
	e := newEnforcer(t, s, budget.WithClock(fc), budget.WithReservationTTL(time.Minute))
	tags := map[string]string{}
	for i, id := range storetest.HostileTenants() {
		r, err := e.Reserve(ctx, id, 5)
		if err != nil || !r.Decision.Admitted() {
			t.Fatalf("%q: %v %v", id, r.Decision, err)
		}
		_ = r.Settle(ctx, 3)
		r, _ = e.Reserve(ctx, id, 5)
		fc.Advance(2 * time.Minute)
		big, _ := e.Reserve(ctx, id, 900_000) // near the limit: sweeps r into the expired set
		_ = big.Release(ctx)
		if i%2 == 0 {
			_ = r.Settle(ctx, 1) // late settle; odd ones keep their expired record
		}
		want := int64(3)
		if i%2 == 0 {
			want = 4
		}
		if st, err := e.Status(ctx, id); err != nil || st.Spent != want || st.Held != 0 {
			t.Fatalf("%q: %+v, %v; want spent %d", id, st, err, want)
		}
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no keys")
	}
	for _, k := range keys {
		if !keyPattern.MatchString(k) {
			t.Fatalf("key %q escapes the layout", k)
		}
		tag := k[strings.IndexByte(k, '{')+1 : strings.IndexByte(k, '}')]
		tags[tag] = k
	}
	expired := 0
	for _, k := range keys {
		if strings.HasSuffix(k, ":h") {
			n, err := c.ZCount(ctx, k, "(0", "+inf").Result()
			if err != nil {
				t.Fatal(err)
			}
			expired += int(n)
		}
	}
	if want := len(storetest.HostileTenants()) / 2; expired != want {
		t.Fatalf("%d expired-hold records, want %d (one per tenant whose late settle did not come)", expired, want)
	}
	if len(tags) != len(storetest.HostileTenants()) {
		t.Fatalf("%d distinct hash tags for %d tenants", len(tags), len(storetest.HostileTenants()))
	}
	for _, id := range storetest.HostileTenants() {
		if want := s.Key(id, storetest.Start()); !keyPattern.MatchString(want) {
			t.Fatalf("Key(%q) = %q", id, want)
		}
	}
}

func TestKeysExpireAfterPeriodEndPlusRetention(t *testing.T) {
	srv := redistest.Shared(t)
	c := newClient(t, srv.Addr())
	s, err := redisstore.New(c, redisstore.WithPrefix(fmt.Sprintf("ttl%d:", prefixes.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)
	e := newEnforcer(t, s, budget.WithClock(clock.NewFake(now)), budget.WithRetention(2*time.Hour))
	ctx := context.Background()
	r, err := e.Reserve(ctx, "ttl", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := r.PeriodEnd.Add(2 * time.Hour).Sub(now) // 3h
	for _, k := range []string{s.Key("ttl", r.PeriodStart), s.Key("ttl", r.PeriodStart) + ":h"} {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl > want || ttl < want-time.Minute {
			t.Fatalf("PTTL %s = %v, want about %v (period end + retention)", k, ttl, want)
		}
	}
}

func TestStoreStoppedFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	var storeErrors atomic.Int64
	obs := budget.ObserverFuncs{OnStoreError: func(string, string, error) { storeErrors.Add(1) }}
	e := newEnforcer(t, newStore(t, srv.Addr()), budget.WithTimeout(250*time.Millisecond), budget.WithObserver(obs))
	ctx := context.Background()
	held, err := e.Reserve(ctx, "closed", 100)
	if err != nil || held.Decision != budget.Allow {
		t.Fatalf("before stop: %v %v", held.Decision, err)
	}
	srv.Stop()
	for range 3 {
		r, err := e.Reserve(ctx, "closed", 100)
		if r.Decision != budget.Block || !errors.Is(err, budget.ErrStoreUnavailable) {
			t.Fatalf("while stopped: %v, %v; want Block, ErrStoreUnavailable", r.Decision, err)
		}
	}
	if err := held.Settle(ctx, 50); !errors.Is(err, budget.ErrStoreUnavailable) {
		t.Fatalf("Settle while stopped: %v", err)
	}
	if _, err := e.Status(ctx, "closed"); !errors.Is(err, budget.ErrStoreUnavailable) {
		t.Fatalf("Status while stopped: %v", err)
	}
	if storeErrors.Load() != 5 {
		t.Fatalf("observer saw %d store errors, want 5", storeErrors.Load())
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r, err := e.Reserve(ctx, "closed", 100)
	if err != nil || r.Decision != budget.Allow {
		t.Fatalf("after restart: %v, %v", r.Decision, err)
	}
	if err := r.Settle(ctx, 40); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Status(ctx, "closed"); err != nil || st.Spent != 40 {
		t.Fatalf("after restart: %+v, %v", st, err)
	}
}

func TestStoreStoppedFailOpen(t *testing.T) {
	srv := redistest.Start(t)
	const allowance = 1_000
	e := newEnforcer(t, newStore(t, srv.Addr()), budget.WithTimeout(250*time.Millisecond), budget.WithFailOpen(allowance))
	ctx := context.Background()
	srv.Stop()
	var degraded []budget.Reservation
	var admitted int64
	for range 10 {
		r, err := e.Reserve(ctx, "open", 300)
		if r.Decision.Admitted() {
			if err != nil || !r.Degraded || r.Decision != budget.Allow {
				t.Fatalf("admitted while stopped: %+v, %v", r, err)
			}
			admitted += r.Estimate
			degraded = append(degraded, r)
			continue
		}
		if r.Decision != budget.Block || !errors.Is(err, budget.ErrStoreUnavailable) {
			t.Fatalf("beyond the allowance: %v, %v", r.Decision, err)
		}
	}
	if admitted >= allowance || len(degraded) != 3 {
		t.Fatalf("admitted %d micro-USD in %d reservations with an allowance of %d", admitted, len(degraded), allowance)
	}
	// Releasing returns allowance.
	if err := degraded[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.Reserve(ctx, "open", 300); !r.Degraded {
		t.Fatalf("after a release: %v, want a degraded admission", r.Decision)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r, err := e.Reserve(ctx, "open", 300)
	if err != nil || r.Degraded || r.Decision != budget.Allow {
		t.Fatalf("after restart: %+v, %v", r, err)
	}
	// A degraded reservation settled once the store is back is charged
	// to the store, once.
	for range 2 {
		if err := degraded[1].Settle(ctx, 200); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := e.Status(ctx, "open"); err != nil || st.Spent != 200 || st.Held != 300 {
		t.Fatalf("status = %+v, %v; want spent 200 held 300", st, err)
	}
}

// TestTimeoutBoundsAHungServer points the store at a server that accepts
// connections and never answers: Reserve must come back with the
// Enforcer's timeout as the cause, not hang on the client's read timeout.
func TestTimeoutBoundsAHungServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		conns.Wait()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
	})
	c := redis.NewClient(&redis.Options{Addr: l.Addr().String(), ContextTimeoutEnabled: true, ReadTimeout: time.Minute, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := redisstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnforcer(t, s, budget.WithTimeout(50*time.Millisecond))
	r, err := e.Reserve(context.Background(), "hung", 1)
	// The client's read deadline comes from the Enforcer's context (the
	// client's own ReadTimeout is a minute).
	if r.Decision != budget.Block || !errors.Is(err, budget.ErrStoreUnavailable) ||
		!(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) {
		t.Fatalf("Reserve = %v, %v; want Block, ErrStoreUnavailable caused by the deadline", r.Decision, err)
	}
}

// deadlineHook records the deadline of every command's context.
type deadlineHook struct {
	mu        sync.Mutex
	deadlines []time.Time // zero: none
}

func (h *deadlineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *deadlineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		d, _ := ctx.Deadline()
		h.mu.Lock()
		h.deadlines = append(h.deadlines, d)
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *deadlineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *deadlineHook) take() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.deadlines
	h.deadlines = nil
	return d
}

// Every store call runs under a deadline at most the Enforcer's timeout
// away, and under the caller's own deadline when that is sooner.
func TestStoreCallsAreBounded(t *testing.T) {
	srv := redistest.Shared(t)
	hook := &deadlineHook{}
	const timeout = time.Hour // far from the other deadlines, so the cases are told apart
	e := newEnforcer(t, newStore(t, srv.Addr(), hook), budget.WithTimeout(timeout), budget.WithRetention(3*time.Hour))
	tests := []struct {
		name   string
		parent time.Duration // 0: no deadline
		want   time.Duration // the deadline expected, from the call
	}{
		{"no deadline", 0, timeout},
		{"sooner deadline", time.Minute, time.Minute},
		{"later deadline", 2 * timeout, timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.parent > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.parent)
				defer cancel()
			}
			ops := []func(time.Time) error{
				func(time.Time) error { _, err := e.Status(ctx, "bounded"); return err },
				func(time.Time) error {
					r, err := e.Reserve(ctx, "bounded", 10)
					if err == nil {
						err = r.Settle(ctx, 5)
					}
					if err == nil {
						r, err = e.Reserve(ctx, "bounded", 10)
					}
					if err == nil {
						err = r.Release(ctx)
					}
					return err
				},
			}
			for _, op := range ops {
				hook.take()
				before := time.Now()
				if err := op(before); err != nil {
					t.Fatal(err)
				}
				after := time.Now()
				got := hook.take()
				if len(got) == 0 {
					t.Fatal("no command sent")
				}
				for i, d := range got {
					if d.IsZero() {
						t.Fatalf("command %d ran without a deadline", i)
					}
					if lo, hi := before.Add(tt.want-time.Second), after.Add(tt.want); d.Before(lo) || d.After(hi) {
						t.Fatalf("command %d: deadline %v from now, want about %v", i, time.Until(d), tt.want)
					}
				}
			}
		})
	}
}

// Spent and held are exact whatever their size: figures of more than 15
// digits, which Lua numbers may not hold exactly, travel as strings.
func TestLargeFiguresAreExact(t *testing.T) {
	srv := redistest.Shared(t)
	e := newEnforcer(t, newStore(t, srv.Addr()), budget.WithDefaultLimit(budget.MaxAmount))
	ctx := context.Background()
	steps := []struct {
		actual    int64
		wantSpent int64
	}{
		{999_999_999_999_999, 999_999_999_999_999},                           // 15 digits
		{1, 1_000_000_000_000_000},                                           // 16 digits
		{budget.MaxAmount - 1_000_000_000_000_000 + 2, budget.MaxAmount + 2}, // 2^53+1: not a double
	}
	for i, st := range steps {
		r, err := e.Reserve(ctx, "large", 0)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i > 0 && r.Spent != steps[i-1].wantSpent {
			t.Fatalf("step %d: spent %d, want %d", i, r.Spent, steps[i-1].wantSpent)
		}
		if !r.Decision.Admitted() {
			t.Fatalf("step %d: %v", i, r.Decision)
		}
		if err := r.Settle(ctx, st.actual); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		s, err := e.Status(ctx, "large")
		if err != nil {
			t.Fatal(err)
		}
		if s.Spent != st.wantSpent || s.Held != 0 {
			t.Fatalf("step %d: status spent %d held %d, want %d 0", i, s.Spent, s.Held, st.wantSpent)
		}
	}
	r, err := e.Reserve(ctx, "large", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := steps[len(steps)-1].wantSpent; r.Decision != budget.Block || r.Spent != want {
		t.Fatalf("after all steps: %v spent %d, want Block spent %d", r.Decision, r.Spent, want)
	}
}
