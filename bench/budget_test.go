package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/redisstore"
)

// budgetConcurrency is the number of goroutines (and pooled connections)
// both sides of the Redis comparison use: 16 x GOMAXPROCS.
const budgetParallelism = 16

// budgetStartRedis starts a private redis-server on a free loopback port,
// with nothing on disk, and stops it when the benchmark ends. It skips when
// redis-server is not installed. (The root module's internal/redistest is
// not importable from this module.)
func budgetStartRedis(b *testing.B) string {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return addr
		}
		if i == 500 {
			b.Fatalf("redis-server on %s did not answer", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// budgetRateLimit is redis_rate's limit in the Redis comparisons: 2^20
// requests per second per key with a burst of as many, so no benchmark is
// ever denied, yet every AllowN advances the key's GCRA state and writes it
// (GET, then SET ... EX), as it does under any real limit. A much higher
// rate such as PerSecond(1<<30) would make the emission interval (under a
// nanosecond) smaller than the resolution of the script's float clock
// (about 60ns), so the state would never change and AllowN would skip its
// SET: a read-only call that no real limit makes, and an unfair comparison
// with a Reserve that writes its hold.
func budgetRateLimit() redis_rate.Limit {
	return redis_rate.Limit{Rate: 1 << 20, Burst: 1 << 20, Period: time.Second}
}

func budgetClient(b *testing.B, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: budgetParallelism * 4, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// budgetEnforcer returns an Enforcer on a Redis store at addr, its keys
// under prefix, with no limit in the way and a timeout no benchmark reaches.
func budgetEnforcer(b *testing.B, addr, prefix string) *budget.Enforcer {
	b.Helper()
	s, err := redisstore.New(budgetClient(b, addr), redisstore.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	e, err := budget.New(s, budget.WithDefaultLimit(budget.MaxAmount), budget.WithTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// budgetRunParallel runs op from budgetParallelism goroutines per P, each
// with its own name (namePrefix and a number), stopping a goroutine at its
// first error.
func budgetRunParallel(b *testing.B, namePrefix string, op func(name string) error) {
	var next atomic.Int64
	b.SetParallelism(budgetParallelism)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		name := namePrefix + strconv.FormatInt(next.Add(1), 10)
		for pb.Next() {
			if err := op(name); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBudgetRedis compares, on one private Redis and the same number
// of goroutines and connections, an llmops budget Reserve (check the
// tenant's spend, holds and limit, hold the estimate: one Lua script) with
// redis_rate's AllowN (a GCRA rate limiter: one smaller Lua script). Each
// goroutine works on its own key/tenant. Reserve+Settle is the full
// admission cycle (two round trips).
func BenchmarkBudgetRedis(b *testing.B) {
	addr := budgetStartRedis(b)
	ctx := context.Background()

	b.Run("llmops_reserve", func(b *testing.B) {
		e := budgetEnforcer(b, addr, fmt.Sprintf("bench%d:", time.Now().UnixNano()))
		budgetRunParallel(b, "tenant-", func(tenant string) error {
			r, err := e.Reserve(ctx, tenant, 1)
			if err != nil || !r.Decision.Admitted() {
				return fmt.Errorf("%v %v", r.Decision, err)
			}
			return nil
		})
	})

	b.Run("redis_rate_allown", func(b *testing.B) {
		l := redis_rate.NewLimiter(budgetClient(b, addr))
		limit := budgetRateLimit()
		budgetRunParallel(b, "rate-", func(key string) error {
			res, err := l.AllowN(ctx, key, limit, 1)
			if err != nil || res.Allowed != 1 {
				return fmt.Errorf("%v %v", res, err)
			}
			return nil
		})
	})

	b.Run("llmops_reserve_settle", func(b *testing.B) {
		e := budgetEnforcer(b, addr, fmt.Sprintf("benchrs%d:", time.Now().UnixNano()))
		budgetRunParallel(b, "tenant-", func(tenant string) error {
			r, err := e.Reserve(ctx, tenant, 10)
			if err != nil || !r.Decision.Admitted() {
				return fmt.Errorf("%v %v", r.Decision, err)
			}
			return r.Settle(ctx, 7)
		})
	})
}

// BenchmarkBudgetRedisRatio runs the two sides of BenchmarkBudgetRedis in
// alternating rounds so that both see the same machine load, and reports
// each side's throughput and their ratio (llmops Reserve / redis_rate
// AllowN; >= 1 means llmops is at least as fast). A round is 32 goroutines
// x 64 operations, each goroutine on its own tenant or key. After each
// llmops round, untimed, its reservations are released: a tenant never has
// more than 64 holds outstanding, as in a service with 64 requests in
// flight per tenant, instead of an ever-growing set (the worst case that
// BenchmarkBudgetRedis/llmops_reserve measures). One benchmark iteration is
// one round of each side.
func BenchmarkBudgetRedisRatio(b *testing.B) {
	addr := budgetStartRedis(b)
	ctx := context.Background()
	e := budgetEnforcer(b, addr, "ratio:")
	l := redis_rate.NewLimiter(budgetClient(b, addr))
	limit := budgetRateLimit()
	const goroutines, perRound = 2 * budgetParallelism, 64
	tenants := make([]string, goroutines)
	keys := make([]string, goroutines)
	for g := range tenants {
		tenants[g], keys[g] = "tenant-"+strconv.Itoa(g), "rate-"+strconv.Itoa(g)
	}
	held := make([][]budget.Reservation, goroutines)
	round := func(op func(g int) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perRound {
					if err := op(g); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	reserve := func(g int) error {
		r, err := e.Reserve(ctx, tenants[g], 1)
		if err == nil && !r.Decision.Admitted() {
			err = fmt.Errorf("decision %v", r.Decision)
		}
		held[g] = append(held[g], r)
		return err
	}
	release := func() {
		var wg sync.WaitGroup
		for g := range held {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, r := range held[g] {
					if err := r.Release(ctx); err != nil {
						b.Error(err)
					}
				}
				held[g] = held[g][:0]
			}()
		}
		wg.Wait()
	}
	allow := func(g int) error {
		res, err := l.AllowN(ctx, keys[g], limit, 1)
		if err == nil && res.Allowed != 1 {
			err = fmt.Errorf("not allowed")
		}
		return err
	}
	round(reserve) // load the scripts, open the connections
	release()
	round(allow)
	var ours, theirs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			ours += round(reserve)
			theirs += round(allow)
		} else {
			theirs += round(allow)
			ours += round(reserve)
		}
		b.StopTimer()
		release()
		b.StartTimer()
	}
	ops := float64(b.N * goroutines * perRound)
	b.ReportMetric(ops/ours.Seconds(), "llmops-reserve/s")
	b.ReportMetric(ops/theirs.Seconds(), "redis_rate-allown/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
}
