package redisstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
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
	// proc runs a command built by the Store (see run); nil when c has
	// no Process method.
	proc processor
	// sha1 holds each script's SHA1 boxed once, in the order of scripts.
	sha1 [3]any
	// keyCache holds the keys of recently used tenant periods, so that a
	// call builds no key strings (see cachedKeys).
	keyCache [keyCacheSize]atomic.Pointer[periodKeys]
}

// keyCacheSize is the number of slots of Store.keyCache: a direct-mapped
// cache indexed by a hash of the tenant. A miss only costs building the
// keys.
const keyCacheSize = 256

// periodKeys are the two keys of one tenant's period.
type periodKeys struct {
	tenant string
	start  int64 // period start, Unix ms
	keys   [2]string
	boxed  [2]any // boxed[i] == keys[i], boxed once for every call's arguments
}

// scripts are the Store's scripts; the index of one is its index in
// Store.sha1.
var scripts = [3]*redis.Script{reserveScript, finishScript, usageScript}

const (
	reserveIdx = iota
	finishIdx
	usageIdx
)

// processor is implemented by *redis.Client, *redis.ClusterClient and
// *redis.Ring: it runs a command through the client's hooks, retries and
// routing (by the command's first key).
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
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
	s.proc, _ = c.(processor)
	for i, sc := range scripts {
		s.sha1[i] = sc.Hash()
	}
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
// Unix milliseconds of the start. The period's other key appends ":h" (its
// reservation records: live holds, expired holds, forced charges).
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

// keys returns the period's two keys, built in one allocation.
func (s *Store) keys(tenant string, periodStart time.Time) [2]string {
	base := len(s.prefix) + base64.RawURLEncoding.EncodedLen(len(tenant)) + 24
	b := make([]byte, 0, 2*base+2)
	b = s.appendKey(b, tenant, periodStart)
	k := len(b)
	b = append(b, b[:k]...)
	b = append(b, ":h"...)
	all := string(b)
	return [2]string{all[:k], all[k:]}
}

// cachedKeys returns the period's two keys from keyCache, building and
// caching them on a miss. The cache is two-way: a tenant may sit in either
// of two slots picked by independent bits of its hash, so two busy tenants
// that share one slot do not evict each other. The returned array is
// shared and never written.
func (s *Store) cachedKeys(tenant string, periodStart time.Time) *periodKeys {
	start := periodStart.UnixMilli()
	h := uint64(14695981039346656037) // FNV-1a, then a multiplicative mix
	for i := 0; i < len(tenant); i++ {
		h = (h ^ uint64(tenant[i])) * 1099511628211
	}
	h *= 0x9e3779b97f4a7c15
	a, b := &s.keyCache[h>>56%keyCacheSize], &s.keyCache[h>>48%keyCacheSize]
	pa, pb := a.Load(), b.Load()
	if pa != nil && pa.start == start && pa.tenant == tenant {
		return pa
	}
	if pb != nil && pb.start == start && pb.tenant == tenant {
		return pb
	}
	pk := &periodKeys{tenant: tenant, start: start}
	pk.keys = s.keys(tenant, periodStart)
	for i, k := range pk.keys {
		pk.boxed[i] = k
	}
	if pa == nil || pb != nil && pa.start != start {
		a.Store(pk)
	} else {
		b.Store(pk)
	}
	return pk
}

// scriptArgs is the ARGV of one script call: every value is a decimal
// number or a string written into buf and passed to go-redis as a
// *bytesArg, so building the arguments takes one allocation (this
// struct) rather than one per boxed number. cmd is the whole EVALSHA
// command (see Store.run), so it needs no allocation of its own either. It
// is not reused: go-redis, or a hook, may keep a command's arguments after
// the call.
type scriptArgs struct {
	vals [8]bytesArg
	cmd  [3 + 2 + 8]any // "evalsha", sha1, number of keys, keys, &vals[i]
	n    int
	buf  []byte
	arr  [128]byte // buf's first array
}

// bytesArg is one argument of a script call; go-redis writes it as a bulk
// string through MarshalBinary.
type bytesArg struct{ b []byte }

// MarshalBinary implements encoding.BinaryMarshaler.
func (a *bytesArg) MarshalBinary() ([]byte, error) { return a.b, nil }

// String returns the argument as text (go-redis prints arguments in
// errors).
func (a *bytesArg) String() string { return string(a.b) }

func newArgs() *scriptArgs {
	a := &scriptArgs{}
	a.buf = a.arr[:0]
	return a
}

// mark starts the next argument at the end of buf.
func (a *scriptArgs) mark() int { return len(a.buf) }

// end closes the argument that started at from.
func (a *scriptArgs) end(from int) {
	a.vals[a.n].b = a.buf[from:len(a.buf):len(a.buf)]
	a.n++
}

func (a *scriptArgs) int(v int64) {
	from := a.mark()
	a.buf = strconv.AppendInt(a.buf, v, 10)
	a.end(from)
}

func (a *scriptArgs) str(v string) {
	from := a.mark()
	a.buf = append(a.buf, v...)
	a.end(from)
}

// list returns the arguments written so far. (When buf grows, earlier
// arguments keep pointing into the old array, whose bytes do not change.)
func (a *scriptArgs) list() []any {
	l := make([]any, a.n)
	for i := range l {
		l[i] = &a.vals[i]
	}
	return l
}

// run runs scripts[script] with the keys of k and the arguments written to
// a, in one round trip. When the client has a Process method it sends an
// EVALSHA command built in a (keys boxed once per cached period, the SHA1
// once per Store), which is what Script.Run sends, less the allocations of
// its argument list; a NOSCRIPT reply (Redis restarted or its script cache
// was flushed) is answered by sending the script with EVAL, as Script.Run
// does. Any other client goes through Script.Run directly.
func (s *Store) run(ctx context.Context, script int, k *periodKeys, a *scriptArgs) *redis.Cmd {
	sc := scripts[script]
	if s.proc != nil {
		c := append(a.cmd[:0], "evalsha", s.sha1[script], len(k.keys))
		c = append(c, k.boxed[:]...)
		for i := range a.n {
			c = append(c, &a.vals[i])
		}
		cmd := redis.NewCmd(ctx, c...)
		cmd.SetFirstKeyPos(3)
		err := s.proc.Process(ctx, cmd)
		if err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return cmd
		}
		return sc.Eval(ctx, s.c, k.keys[:], a.list()...)
	}
	return sc.Run(ctx, s.c, k.keys[:], a.list()...)
}

// keepMillis converts the absolute KeepUntil into a relative expiry, so
// that keys expire KeepUntil-Now after the write by the server's clock
// whatever the skew between this instance's clock and Redis's.
func keepMillis(keepUntil, now time.Time) int64 {
	return max(keepUntil.Sub(now).Milliseconds(), 1)
}

// Reserve implements budget.Store.
func (s *Store) Reserve(ctx context.Context, a budget.ReserveArgs) (budget.ReserveResult, error) {
	keys := s.cachedKeys(a.Tenant, a.Period.Start)
	now := a.Now.UnixMilli()
	args := newArgs()
	from := args.mark()
	args.buf = strconv.AppendUint(args.buf, a.ID, 10)
	args.buf = append(args.buf, ':')
	args.buf = strconv.AppendInt(args.buf, a.Estimate, 10)
	args.end(from) // the hold's member, "<id>:<estimate>"
	args.int(a.Estimate)
	args.int(a.Limit)
	args.int(a.DownshiftAt)
	args.int(-(now + a.Expires.Sub(a.Now).Milliseconds())) // the hold's score
	from = args.mark()                                     // what only a sweep or a first hold reads
	args.buf = strconv.AppendInt(args.buf, -now, 10)
	args.buf = append(args.buf, ' ')
	args.buf = strconv.AppendInt(args.buf, keepMillis(a.KeepUntil, a.Now), 10)
	args.buf = append(args.buf, ' ')
	args.buf = strconv.AppendInt(args.buf, now-a.Now.Sub(a.ForgetBefore).Milliseconds(), 10)
	args.end(from)
	res, err := s.run(ctx, reserveIdx, keys, args).Slice()
	if err != nil {
		return budget.ReserveResult{Decision: budget.Block}, fmt.Errorf("redisstore: reserve: %w", err)
	}
	var vals [3]int64
	err = ints(res, vals[:])
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
	keys := s.cachedKeys(a.Tenant, a.Period.Start)
	args := newArgs()
	from := args.mark()
	args.buf = strconv.AppendUint(args.buf, a.ID, 10)
	args.end(from)
	args.int(a.Estimate)
	args.int(a.Actual)
	args.str(mode)
	args.int(a.Now.UnixMilli())
	args.int(keepMillis(a.KeepUntil, a.Now))
	args.int(a.ForgetBefore.UnixMilli())
	args.str(force)
	n, err := s.run(ctx, finishIdx, keys, args).Int64()
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
	keys := s.cachedKeys(a.Tenant, a.Period.Start)
	args := newArgs()
	args.int(-a.Now.UnixMilli())
	res, err := s.run(ctx, usageIdx, keys, args).Slice()
	if err != nil {
		return budget.Usage{}, fmt.Errorf("redisstore: usage: %w", err)
	}
	var vals [2]int64
	if err := ints(res, vals[:]); err != nil {
		return budget.Usage{}, fmt.Errorf("redisstore: usage: %w", err)
	}
	return budget.Usage{Spent: vals[0], Held: vals[1]}, nil
}

// ints converts a script's reply of integers and decimal strings into out.
func ints(res []any, out []int64) error {
	if len(res) != len(out) {
		return fmt.Errorf("want %d values, got %d", len(out), len(res))
	}
	for i, v := range res {
		switch v := v.(type) {
		case int64:
			out[i] = v
		case string:
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return err
			}
			out[i] = x
		default:
			return fmt.Errorf("value %d has type %T", i, v)
		}
	}
	return nil
}
