package redisstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used unless WithPrefix is given.
const DefaultPrefix = "llmops:budget:"

// Client is what the store needs from a go-redis client: running scripts.
// *redis.Client, *redis.ClusterClient and *redis.Ring satisfy it.
type Client = redis.Scripter

// Store is a budget.Store on Redis. Each operation is one Lua script run
// with EVALSHA (EVAL when the server lost its script cache), so every
// Reserve, Settle and Release is atomic and one round trip.
//
// A Store is safe for concurrent use by multiple goroutines; any number of
// processes may share one Redis.
type Store struct {
	c      Client
	prefix string
}

var _ budget.Store = (*Store)(nil)

// Option configures a Store.
type Option interface {
	apply(*Store) error
}

type optionFunc func(*Store) error

func (f optionFunc) apply(s *Store) error { return f(s) }

// WithPrefix sets the key prefix (default "llmops:budget:"). It must be at
// most 64 bytes and must not contain '{' or '}', which would break the
// hash tag.
func WithPrefix(prefix string) Option {
	return optionFunc(func(s *Store) error {
		if len(prefix) > 64 || strings.ContainsAny(prefix, "{}") {
			return fmt.Errorf("%w: redisstore: prefix %q: at most 64 bytes, no '{' or '}'", budget.ErrInvalidConfig, prefix)
		}
		s.prefix = prefix
		return nil
	})
}

// New returns a Store that uses c.
func New(c Client, opts ...Option) (*Store, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: redisstore: nil client", budget.ErrInvalidConfig)
	}
	s := &Store{c: c, prefix: DefaultPrefix}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: redisstore: nil Option", budget.ErrInvalidConfig)
		}
		if err := o.apply(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Key returns the name of the hash that holds a tenant's spend for the
// period starting at periodStart: prefix + "{" + base64url(tenant) + "}:" +
// Unix milliseconds of the start. The other keys of the period append
// ":h" (live holds), ":x" (expired holds) and ":f" (forced charges).
// base64url is injective and its alphabet has no braces, colons or
// whitespace, so no tenant id can reach into another's keys or choose
// another's cluster slot.
func (s *Store) Key(tenant string, periodStart time.Time) string {
	return string(s.appendKey(nil, tenant, periodStart))
}

func (s *Store) appendKey(b []byte, tenant string, periodStart time.Time) []byte {
	b = append(b, s.prefix...)
	b = append(b, '{')
	b = base64.RawURLEncoding.AppendEncode(b, []byte(tenant))
	b = append(b, "}:"...)
	return strconv.AppendInt(b, periodStart.UnixMilli(), 10)
}

// keys returns the first n of the period's four keys, built in one
// allocation.
func (s *Store) keys(tenant string, periodStart time.Time, n int) []string {
	base := len(s.prefix) + base64.RawURLEncoding.EncodedLen(len(tenant)) + 24
	b := make([]byte, 0, 4*base+8)
	b = s.appendKey(b, tenant, periodStart)
	k := len(b)
	b = append(b, b[:k]...)
	b = append(b, ":h"...)
	b = append(b, b[:k]...)
	b = append(b, ":x"...)
	b = append(b, b[:k]...)
	b = append(b, ":f"...)
	all := string(b)
	keys := []string{all[:k], all[k : 2*k+2], all[2*k+2 : 3*k+4], all[3*k+4:]}
	return keys[:n]
}

// keepMillis converts the absolute KeepUntil into a relative expiry, so
// that keys expire KeepUntil-Now after the write by the server's clock
// whatever the skew between this instance's clock and Redis's.
func keepMillis(keepUntil, now time.Time) int64 {
	return max(keepUntil.Sub(now).Milliseconds(), 1)
}

// Reserve implements budget.Store.
func (s *Store) Reserve(ctx context.Context, a budget.ReserveArgs) (budget.ReserveResult, error) {
	res, err := reserveScript.Run(ctx, s.c, s.keys(a.Tenant, a.Period.Start, 3),
		a.ID, a.Estimate, a.Limit, a.DownshiftAt,
		a.Now.UnixMilli(), a.Expires.Sub(a.Now).Milliseconds(), keepMillis(a.KeepUntil, a.Now), a.Now.Sub(a.ForgetBefore).Milliseconds(),
	).Slice()
	if err != nil {
		return budget.ReserveResult{Decision: budget.Block}, fmt.Errorf("redisstore: reserve: %w", err)
	}
	vals, err := ints(res, 3)
	if err != nil || vals[0] < int64(budget.Allow) || vals[0] > int64(budget.Block) {
		return budget.ReserveResult{Decision: budget.Block}, fmt.Errorf("redisstore: reserve: unexpected reply %v: %v", res, err)
	}
	return budget.ReserveResult{Decision: budget.Decision(vals[0]), Spent: vals[1], Held: vals[2]}, nil
}

// Settle implements budget.Store.
func (s *Store) Settle(ctx context.Context, a budget.SettleArgs) (budget.Outcome, error) {
	return s.finish(ctx, a, "s")
}

// Release implements budget.Store.
func (s *Store) Release(ctx context.Context, a budget.SettleArgs) (budget.Outcome, error) {
	return s.finish(ctx, a, "r")
}

func (s *Store) finish(ctx context.Context, a budget.SettleArgs, mode string) (budget.Outcome, error) {
	force := "0"
	if a.Force {
		force = "1"
	}
	n, err := finishScript.Run(ctx, s.c, s.keys(a.Tenant, a.Period.Start, 4),
		a.ID, a.Estimate, a.Actual, mode, a.Now.UnixMilli(),
		keepMillis(a.KeepUntil, a.Now), a.ForgetBefore.UnixMilli(), force,
	).Int64()
	op := "settle"
	if mode == "r" {
		op = "release"
	}
	if err != nil {
		return 0, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if n < int64(budget.Applied) || n > int64(budget.Duplicate) {
		return 0, fmt.Errorf("redisstore: %s: unexpected reply %d", op, n)
	}
	return budget.Outcome(n), nil
}

// Usage implements budget.Store.
func (s *Store) Usage(ctx context.Context, a budget.UsageArgs) (budget.Usage, error) {
	res, err := usageScript.Run(ctx, s.c, s.keys(a.Tenant, a.Period.Start, 2), a.Now.UnixMilli()).Slice()
	if err != nil {
		return budget.Usage{}, fmt.Errorf("redisstore: usage: %w", err)
	}
	vals, err := ints(res, 2)
	if err != nil {
		return budget.Usage{}, fmt.Errorf("redisstore: usage: %w", err)
	}
	return budget.Usage{Spent: vals[0], Held: vals[1]}, nil
}

// ints converts a script's reply of integers and decimal strings.
func ints(res []any, n int) ([]int64, error) {
	if len(res) != n {
		return nil, fmt.Errorf("want %d values, got %d", n, len(res))
	}
	out := make([]int64, n)
	for i, v := range res {
		switch v := v.(type) {
		case int64:
			out[i] = v
		case string:
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, err
			}
			out[i] = x
		default:
			return nil, fmt.Errorf("value %d has type %T", i, v)
		}
	}
	return out, nil
}
