package redissync_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/chaos/redissync"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/internal/redistest"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// instance is one service instance: an injector and its sync.
type instance struct {
	inj  *chaos.Injector
	sync *redissync.Sync
	errs chan error
}

func newInstance(t *testing.T, srv *redistest.Server, clk clock.Clock, opts ...redissync.Option) *instance {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	var copts []chaos.Option
	if clk != nil {
		copts = append(copts, chaos.WithClock(clk))
	}
	inj, err := chaos.New(copts...)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{inj: inj, errs: make(chan error, 100)}
	opts = append([]redissync.Option{redissync.WithErrorHandler(func(err error) {
		select {
		case in.errs <- err:
		default:
		}
	})}, opts...)
	s, err := redissync.New(context.Background(), rdb, inj, opts...)
	if err != nil {
		t.Fatal(err)
	}
	in.sync = s
	t.Cleanup(func() { _ = s.Close() })
	return in
}

func (in *instance) hit(at chaos.Target) bool {
	_, err := in.inj.Inject(context.Background(), at, "")
	return err != nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChangeReachesTheFleetWithinASecond(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newInstance(t, srv, nil), newInstance(t, srv, nil)
	admin, err := chaos.NewAdminHandler(a.sync, "fleet-admin-token-0123456789")
	if err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodPost, "/admin/chaos", strings.NewReader(`{"mode":"outage","target":"tool:web_search","ttl":"5m"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer fleet-admin-token-0123456789")
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST through instance A: %d %s", w.Code, w.Body)
	}
	if !a.hit(chaos.Tool("web_search")) {
		t.Fatal("the instance that took the POST does not apply the fault")
	}
	eventually(t, time.Second, "instance B applies the fault set on A", func() bool { return b.hit(chaos.Tool("web_search")) })

	fa, _ := a.inj.Faults(context.Background())
	fb, _ := b.inj.Faults(context.Background())
	if len(fa) != 1 || len(fb) != 1 || fa[0].ID != fb[0].ID || !fa[0].ExpiresAt.Equal(fb[0].ExpiresAt) {
		t.Fatalf("instances disagree:\nA %+v\nB %+v", fa, fb)
	}

	// Clearing on B clears A.
	n, err := b.sync.Clear(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Clear on B = %d, %v", n, err)
	}
	if b.hit(chaos.Tool("web_search")) {
		t.Fatal("B still applies a cleared fault")
	}
	eventually(t, time.Second, "instance A drops the fault cleared on B", func() bool { return !a.hit(chaos.Tool("web_search")) })
}

func TestRestartedInstancePicksUpActiveFaults(t *testing.T) {
	srv := redistest.Start(t)
	fc := clock.NewFake(t0)
	a := newInstance(t, srv, fc)
	f, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Throttle, Target: chaos.Model(), Tenant: "acme", Probability: 0.5, TTL: time.Hour, RetryAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Latency, Target: chaos.Tools(), Probability: 1, Latency: time.Second, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	fc.Advance(2 * time.Minute) // the latency fault expires

	// A new instance (a restart) has the active fault as soon as New returns.
	c := newInstance(t, srv, fc)
	got, _ := c.inj.Faults(context.Background())
	if len(got) != 1 {
		t.Fatalf("restarted instance has %d faults, want 1: %+v", len(got), got)
	}
	g := got[0]
	if g.ID != f.ID || g.Mode != chaos.Throttle || g.Target != chaos.Model() || g.Tenant != "acme" ||
		g.Probability != 0.5 || g.RetryAfter != 3*time.Second || g.TTL != time.Hour || !g.ExpiresAt.Equal(f.ExpiresAt) {
		t.Fatalf("restarted instance loaded %+v, want %+v", g, f)
	}
	if rem := g.Remaining(fc.Now()); rem != 58*time.Minute {
		t.Fatalf("remaining TTL on the new instance = %s, want 58m (TTL is absolute)", rem)
	}
}

func TestRedisDownKeepsLastStateAndTTL(t *testing.T) {
	srv := redistest.Start(t)
	fc := clock.NewFake(t0)
	a, b := newInstance(t, srv, fc), newInstance(t, srv, fc)
	if _, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "B applies the fault", func() bool { return b.hit(chaos.Model()) })

	srv.Stop()
	drain(b.errs)
	fc.Advance(30 * time.Second) // fires B's reconcile timer; the reload fails
	select {
	case err := <-b.errs:
		if !strings.Contains(err.Error(), "redissync: load") {
			t.Fatalf("unexpected background error %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no reload was attempted after the reconcile interval")
	}
	if !b.hit(chaos.Model()) || !a.hit(chaos.Model()) {
		t.Fatal("an instance dropped its faults when Redis became unreachable")
	}
	if fs, err := b.sync.Faults(context.Background()); err != nil || len(fs) != 1 {
		t.Fatalf("Faults with Redis down = %+v, %v; want the last known fault", fs, err)
	}
	// Writes fail without changing anything.
	if _, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Outage, Target: chaos.Tools(), Probability: 1}); err == nil {
		t.Fatal("Set succeeded with Redis down")
	}
	if _, err := a.sync.Clear(context.Background()); err == nil {
		t.Fatal("Clear succeeded with Redis down")
	}
	if a.hit(chaos.Tool("x")) || !a.hit(chaos.Model()) {
		t.Fatal("a failed write changed the local state")
	}

	fc.Advance(30 * time.Second) // the TTL ends while Redis is still down
	if a.hit(chaos.Model()) || b.hit(chaos.Model()) {
		t.Fatal("a fault outlived its TTL while Redis was down")
	}

	// Redis comes back empty: the fleet converges on the empty state and
	// accepts writes again.
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "Set succeeds after Redis is back", func() bool {
		_, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Outage, Target: chaos.Tools(), Probability: 1})
		return err == nil
	})
	eventually(t, 10*time.Second, "B applies the fault set after recovery", func() bool {
		fc.Advance(time.Millisecond) // lets B's reconcile timer fire
		return b.hit(chaos.Tool("x"))
	})
}

func drain(ch chan error) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestFleetBound(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newInstance(t, srv, nil), newInstance(t, srv, nil)
	ctx := context.Background()
	for i := range chaos.MaxFaults {
		s := a.sync
		if i%2 == 1 {
			s = b.sync
		}
		if _, err := s.Set(ctx, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool(fmt.Sprint("t", i)), Probability: 1}); err != nil {
			t.Fatalf("fault %d: %v", i, err)
		}
	}
	if _, err := b.sync.Set(ctx, chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1}); !errors.Is(err, chaos.ErrTooManyFaults) {
		t.Fatalf("17th fault across the fleet: %v", err)
	}
	// Replacing a slot is fine at the bound.
	if _, err := b.sync.Set(ctx, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("t0"), Probability: 0.5}); err != nil {
		t.Fatal(err)
	}
	fs, err := a.sync.Faults(ctx)
	if err != nil || len(fs) != chaos.MaxFaults {
		t.Fatalf("A sees %d faults, %v", len(fs), err)
	}
	n, err := a.sync.Clear(ctx)
	if err != nil || n != chaos.MaxFaults {
		t.Fatalf("Clear = %d, %v", n, err)
	}
}

func TestRecordsExpireInRedis(t *testing.T) {
	srv := redistest.Start(t)
	a := newInstance(t, srv, nil)
	if _, err := a.sync.Set(context.Background(), chaos.Spec{Mode: chaos.Outage, Target: chaos.Model(), Probability: 1, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ttl, err := srv.Do("PTTL", redissync.DefaultPrefix+":faults")
	if err != nil {
		t.Fatal(err)
	}
	ms := 0
	if _, err := fmt.Sscanf(ttl, ":%d", &ms); err != nil || ms <= 0 || ms > int(time.Hour/time.Millisecond) {
		t.Fatalf("PTTL of the hash = %q; want a positive expiry of at most an hour", ttl)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	inj, _ := chaos.New()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for name, opts := range map[string][]redissync.Option{
		"empty prefix":       {redissync.WithPrefix("")},
		"interval too short": {redissync.WithReconcileInterval(time.Millisecond)},
		"interval too long":  {redissync.WithReconcileInterval(time.Hour)},
		"nil error handler":  {redissync.WithErrorHandler(nil)},
		"nil option":         {nil},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := redissync.New(context.Background(), rdb, inj, opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := redissync.New(context.Background(), nil, inj); err == nil {
		t.Fatal("nil client accepted")
	}
}

// TestReconcileCatchesMissedNotifications writes a fault straight into
// Redis, without a notification: the periodic reload applies it.
func TestReconcileCatchesMissedNotifications(t *testing.T) {
	srv := redistest.Start(t)
	fc := clock.NewFake(t0)
	b := newInstance(t, srv, fc)
	rec := fmt.Sprintf(`{"id":"feedc0de","mode":"latency","target":"tool:fetch","probability":1,"ttl_ns":%d,"latency_ns":%d,"expires_at_ns":%d}`,
		int64(time.Hour), int64(250*time.Millisecond), t0.Add(time.Hour).UnixNano())
	if r, err := srv.Do("HSET", redissync.DefaultPrefix+":faults", "latency|tool:fetch|", rec); err != nil || r != ":1" {
		t.Fatalf("HSET = %q, %v", r, err)
	}
	if fs, _ := b.inj.Faults(context.Background()); len(fs) != 0 {
		t.Fatal("fault applied before any reload")
	}
	eventually(t, 10*time.Second, "the periodic reload applies the fault", func() bool {
		fc.Advance(redissync.DefaultReconcileInterval)
		fs, _ := b.inj.Faults(context.Background())
		return len(fs) == 1 && fs[0].ID == "feedc0de" && fs[0].Latency == 250*time.Millisecond
	})
	// An undecodable record is reported and skipped.
	drain(b.errs)
	if _, err := srv.Do("HSET", redissync.DefaultPrefix+":faults", "junk", "{not json"); err != nil {
		t.Fatal(err)
	}
	if err := b.sync.Reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "undecodable") {
		t.Fatalf("Reconcile with a junk record: %v", err)
	}
	if fs, _ := b.inj.Faults(context.Background()); len(fs) != 1 {
		t.Fatalf("a junk record changed the valid state: %+v", fs)
	}
}
