package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/internal/strictjson"
	"github.com/llmops-go/llmops/repair"
)

// Tool names, as the model sees them.
const (
	LookupFact    = "lookup_fact"
	ComputePrimes = "compute_primes"
	WebSearch     = "web_search"
)

// Fallback steps of the web_search chain, after the live search.
const (
	StepSnapshot = "cached_snapshot"
	StepStaticKB = "static_kb"
)

// Defaults.
const (
	DefaultSearchTimeout = 2 * time.Second
	DefaultSnapshotSize  = 256
	// MaxPrimeLimit is the largest limit compute_primes accepts.
	MaxPrimeLimit = 1_000_000
)

var (
	// ErrUnknownTool is returned by Call for a tool that is not in the set.
	ErrUnknownTool = errors.New("tools: unknown tool")
	// ErrInvalidConfig is matched by the errors New returns for bad options.
	ErrInvalidConfig = errors.New("tools: invalid configuration")
	// errSnapshotMiss is the cached snapshot's answer for a query it has not
	// seen: unavailable, so the chain moves on.
	errSnapshotMiss = fmt.Errorf("tools: no cached snapshot for the query: %w", fallback.ErrUnavailable)
)

// Definition is a tool as offered to the model.
type Definition struct {
	Name        string
	Description string
	// Schema is the JSON Schema of the tool's arguments.
	Schema json.RawMessage
}

var definitions = []Definition{
	{LookupFact, "Look up a short, reliable fact about a topic (a city, a technology, a physical constant).",
		json.RawMessage(`{"type":"object","properties":{"topic":{"type":"string","minLength":1,"maxLength":80,"description":"the topic, e.g. paris","examples":["llmops"]}},"required":["topic"],"additionalProperties":false}`)},
	{ComputePrimes, "Count the prime numbers up to a limit and give the largest of them.",
		json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":2,"maximum":1000000,"description":"count primes up to this number","examples":[100]}},"required":["limit"],"additionalProperties":false}`)},
	{WebSearch, "Search the web and return the top results with a short summary.",
		json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","minLength":1,"maxLength":300,"description":"the search query","examples":["llmops"]},"max_results":{"type":"integer","minimum":1,"maximum":10,"default":3}},"required":["query"],"additionalProperties":false}`)},
}

// Definitions returns the tools offered to the model, in a fixed order.
func Definitions() []Definition {
	out := make([]Definition, len(definitions))
	for i, d := range definitions {
		out[i] = Definition{Name: d.Name, Description: d.Description, Schema: bytes.Clone(d.Schema)}
	}
	return out
}

// Registry returns a repair registry with every tool's schema.
func Registry() (*repair.Registry, error) {
	reg, err := repair.NewRegistry()
	if err != nil {
		return nil, err
	}
	for _, d := range definitions {
		if err := reg.Register(d.Name, d.Schema); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Option configures New. It is sealed: only this package's With functions
// return Options.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	observer      fallback.Observer
	clock         clock.Clock
	searchLatency time.Duration
	searchTimeout time.Duration
	snapshotSize  int
}

// WithObserver sends every chain's tool outcomes and breaker changes to o.
func WithObserver(o fallback.Observer) Option { return optionFunc(func(c *config) { c.observer = o }) }

// WithClock sets the clock of the simulated search latency and of the step
// timeouts (default clock.Real).
func WithClock(c clock.Clock) Option { return optionFunc(func(cf *config) { cf.clock = c }) }

// WithSearchLatency sets how long the simulated web search takes (default
// 0, at most one minute).
func WithSearchLatency(d time.Duration) Option {
	return optionFunc(func(c *config) { c.searchLatency = d })
}

// WithSearchTimeout sets the web_search step's timeout (default
// DefaultSearchTimeout; 0 to 10 minutes, 0 meaning none).
func WithSearchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.searchTimeout = d })
}

// WithSnapshotSize sets how many queries the cached snapshot remembers
// (default DefaultSnapshotSize, 1 to 1<<20).
func WithSnapshotSize(n int) Option { return optionFunc(func(c *config) { c.snapshotSize = n }) }

// Set is the agent's tools. It is safe for concurrent use by multiple
// goroutines.
type Set struct {
	cfg      config
	snapshot *snapshot
	search   *fallback.Chain[searchArgs, json.RawMessage]
	facts    *fallback.Chain[factArgs, json.RawMessage]
	primes   *fallback.Chain[primeArgs, json.RawMessage]
}

// New returns the tools configured by opts.
func New(opts ...Option) (*Set, error) {
	cfg := config{searchTimeout: DefaultSearchTimeout, snapshotSize: DefaultSnapshotSize}
	for _, o := range opts {
		o.apply(&cfg)
	}
	cfg.clock = clock.Or(cfg.clock)
	switch {
	case cfg.searchLatency < 0 || cfg.searchLatency > time.Minute:
		return nil, fmt.Errorf("%w: search latency %v not in [0,1m]", ErrInvalidConfig, cfg.searchLatency)
	case cfg.searchTimeout < 0 || cfg.searchTimeout > 10*time.Minute:
		return nil, fmt.Errorf("%w: search timeout %v not in [0,10m]", ErrInvalidConfig, cfg.searchTimeout)
	case cfg.snapshotSize < 1 || cfg.snapshotSize > 1<<20:
		return nil, fmt.Errorf("%w: snapshot size %d not in [1,1<<20]", ErrInvalidConfig, cfg.snapshotSize)
	}
	s := &Set{cfg: cfg, snapshot: newSnapshot(cfg.snapshotSize)}
	var chainOpts []fallback.Option
	chainOpts = append(chainOpts, fallback.WithClock(cfg.clock))
	if cfg.observer != nil {
		chainOpts = append(chainOpts, fallback.WithObserver(cfg.observer))
	}
	var stepOpts []fallback.StepOption
	if cfg.searchTimeout > 0 {
		stepOpts = append(stepOpts, fallback.WithTimeout(cfg.searchTimeout))
	}
	var err error
	s.search, err = fallback.New(WebSearch, []fallback.Step[searchArgs, json.RawMessage]{
		fallback.NewStep(WebSearch, s.webSearch, stepOpts...),
		fallback.NewStep(StepSnapshot, s.cachedSnapshot),
		fallback.NewStep(StepStaticKB, staticKB),
	}, chainOpts...)
	if err != nil {
		return nil, err
	}
	s.facts, err = fallback.New(LookupFact, []fallback.Step[factArgs, json.RawMessage]{
		fallback.NewStep(LookupFact, lookupFact),
	}, chainOpts...)
	if err != nil {
		return nil, err
	}
	s.primes, err = fallback.New(ComputePrimes, []fallback.Step[primeArgs, json.RawMessage]{
		fallback.NewStep(ComputePrimes, computePrimes),
	}, chainOpts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Outcome is what one tool call produced.
type Outcome struct {
	// Result is the tool's answer, a JSON object.
	Result json.RawMessage
	// Step is the step that served: the tool itself, or a fallback step.
	Step string
	// Fallback reports that a fallback step served.
	Fallback bool
}

type faultKey struct{}

// WithFault returns a context in which the live step of the called tool
// fails with err before doing anything (a chaos fault drawn for this call).
// A nil err returns ctx.
func WithFault(ctx context.Context, err error) context.Context {
	if err == nil {
		return ctx
	}
	return context.WithValue(ctx, faultKey{}, err)
}

func faultFrom(ctx context.Context) error {
	err, _ := ctx.Value(faultKey{}).(error)
	return err
}

// Call runs the tool called name with args, which should fit its schema
// (validate them with Registry first). Call decodes them strictly and
// checks them against the schema's bounds itself, so that arguments it was
// handed unvalidated cannot reach a tool out of range: one JSON object of
// at most repair.DefaultMaxArgsBytes of valid UTF-8, with only the schema's
// keys (exactly spelled, each once, none null) and nothing after it. As
// in the schemas, an integer may be written 100, 100.0 or 1e2.
// Arguments that do not pass are reported with repair.Repairable, so a
// repair loop can fix them.
func (s *Set) Call(ctx context.Context, name string, args []byte) (Outcome, error) {
	switch name {
	case WebSearch:
		a, err := decodeSearch(args)
		if err != nil {
			return Outcome{}, err
		}
		return outcome(s.search.Do(ctx, a))
	case LookupFact:
		a, err := decodeFact(args)
		if err != nil {
			return Outcome{}, err
		}
		return outcome(s.facts.Do(ctx, a))
	case ComputePrimes:
		a, err := decodePrimes(args)
		if err != nil {
			return Outcome{}, err
		}
		return outcome(s.primes.Do(ctx, a))
	}
	return Outcome{}, fmt.Errorf("%w: %q", ErrUnknownTool, name)
}

// Breakers returns the breaker state of every step, per chain.
func (s *Set) Breakers() map[string][]fallback.StepState {
	return map[string][]fallback.StepState{
		WebSearch:     s.search.States(),
		LookupFact:    s.facts.States(),
		ComputePrimes: s.primes.States(),
	}
}

func outcome(r fallback.Result[json.RawMessage], err error) (Outcome, error) {
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Result: r.Value, Step: r.Step, Fallback: r.Fallback}, nil
}

// Bounds of the tools' arguments, as their schemas state them. String
// lengths count characters (runes), as JSON Schema does.
const (
	maxArgsBytes         = repair.DefaultMaxArgsBytes // the Registry's limit
	maxTopicRunes        = 80
	maxQueryRunes        = 300
	maxSearchResults     = 10
	defaultSearchResults = 3
)

// badArgs returns a repairable argument error.
func badArgs(format string, a ...any) error {
	return repair.Repairable(fmt.Errorf("tools: arguments: "+format, a...))
}

// decodeArgs strictly decodes arguments into their members: see Call.
func decodeArgs(args []byte, known ...string) (map[string]json.RawMessage, error) {
	if len(args) > maxArgsBytes {
		return nil, badArgs("%d bytes; the limit is %d", len(args), maxArgsBytes)
	}
	var m map[string]json.RawMessage
	if err := strictjson.Decode(args, func(k string) bool { return slices.Contains(known, k) }, &m); err != nil {
		return nil, badArgs("%v", err)
	}
	return m, nil
}

// stringArg returns the required string member name, of 1 to maxRunes
// characters.
func stringArg(m map[string]json.RawMessage, name string, maxRunes int) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", badArgs("%s is required", name)
	}
	var v string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", badArgs("%s must be a string", name)
	}
	if n := utf8.RuneCountInString(v); n < 1 || n > maxRunes {
		return "", badArgs("%s must be 1 to %d characters, not %d", name, maxRunes, n)
	}
	return v, nil
}

// intArg returns the integer member name, from lo to hi, and whether it is
// present.
func intArg(m map[string]json.RawMessage, name string, lo, hi int64) (v int64, present bool, err error) {
	raw, ok := m[name]
	if !ok {
		return 0, false, nil
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, true, badArgs("%s must be an integer", name)
	}
	v, whole := wholeNumber(string(raw))
	if !whole || v < lo || v > hi {
		return 0, true, badArgs("%s must be an integer from %d to %d, not %s", name, lo, hi, raw)
	}
	return v, true, nil
}

// wholeNumber returns the value of the JSON number literal lit when it is
// a whole number of magnitude below 10^18: an "integer" in JSON Schema's
// sense, which counts 5, 5.0, 0.5e1 and 500e-2 alike. It never builds a
// large number, whatever the exponent.
func wholeNumber(lit string) (int64, bool) {
	if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return v, true
	}
	neg := strings.HasPrefix(lit, "-")
	mant, exp := strings.TrimPrefix(lit, "-"), "0"
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		mant, exp = mant[:i], mant[i+1:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	e, err := strconv.Atoi(exp)
	// Past a million, the exponent cannot be offset by the digits of
	// arguments of at most maxArgsBytes: the number is not whole or is
	// far too large.
	if err != nil || e > 1e6 || e < -1e6 {
		return 0, false
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, true
	}
	shift := e - len(frac)
	trimmed := strings.TrimRight(digits, "0")
	shift += len(digits) - len(trimmed)
	if shift < 0 || len(trimmed)+shift > 18 {
		return 0, false // a fraction, or 10^18 or more
	}
	v, err := strconv.ParseInt(trimmed, 10, 64)
	if err != nil {
		return 0, false
	}
	for ; shift > 0; shift-- {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

func decodeSearch(args []byte) (searchArgs, error) {
	m, err := decodeArgs(args, "query", "max_results")
	if err != nil {
		return searchArgs{}, err
	}
	q, err := stringArg(m, "query", maxQueryRunes)
	if err != nil {
		return searchArgs{}, err
	}
	n, present, err := intArg(m, "max_results", 1, maxSearchResults)
	if err != nil {
		return searchArgs{}, err
	}
	if !present {
		n = defaultSearchResults
	}
	return searchArgs{Query: q, MaxResults: int(n)}, nil
}

func decodeFact(args []byte) (factArgs, error) {
	m, err := decodeArgs(args, "topic")
	if err != nil {
		return factArgs{}, err
	}
	t, err := stringArg(m, "topic", maxTopicRunes)
	if err != nil {
		return factArgs{}, err
	}
	return factArgs{Topic: t}, nil
}

func decodePrimes(args []byte) (primeArgs, error) {
	m, err := decodeArgs(args, "limit")
	if err != nil {
		return primeArgs{}, err
	}
	n, present, err := intArg(m, "limit", 2, MaxPrimeLimit)
	if err != nil {
		return primeArgs{}, err
	}
	if !present {
		return primeArgs{}, badArgs("limit is required")
	}
	return primeArgs{Limit: int(n)}, nil
}

func encode(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

type searchArgs struct {
	Query      string `json:"query"`
	MaxResults int    `json:"max_results"`
}

type factArgs struct {
	Topic string `json:"topic"`
}

type primeArgs struct {
	Limit int `json:"limit"`
}

// webSearch is the simulated live search engine.
func (s *Set) webSearch(ctx context.Context, a searchArgs) (json.RawMessage, error) {
	if err := faultFrom(ctx); err != nil {
		return nil, err
	}
	if s.cfg.searchLatency > 0 {
		t := s.cfg.clock.NewTimer(s.cfg.searchLatency)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	res := searchResults{Query: a.Query, Source: "web"}
	res.Results = searchCorpus(a.Query, a.MaxResults)
	res.Answer = summary(a.Query, res.Results, "the web")
	out := encode(res)
	s.snapshot.put(a.Query, res)
	return out, nil
}

// cachedSnapshot answers from earlier live searches and the shipped
// snapshot.
func (s *Set) cachedSnapshot(_ context.Context, a searchArgs) (json.RawMessage, error) {
	res, ok := s.snapshot.get(a.Query)
	if !ok {
		res, ok = shippedSnapshot(a.Query)
	}
	if !ok {
		return nil, errSnapshotMiss
	}
	res.Source = "cached_snapshot"
	if len(res.Results) > a.MaxResults {
		res.Results = res.Results[:a.MaxResults]
	}
	res.Answer = summary(a.Query, res.Results, "a cached snapshot")
	return encode(res), nil
}

// staticKB answers from the static knowledge base; it always serves.
func staticKB(_ context.Context, a searchArgs) (json.RawMessage, error) {
	res := searchResults{Query: a.Query, Source: "static_kb"}
	res.Results = searchKB(a.Query, a.MaxResults)
	res.Answer = summary(a.Query, res.Results, "the static knowledge base")
	return encode(res), nil
}

func lookupFact(ctx context.Context, a factArgs) (json.RawMessage, error) {
	if err := faultFrom(ctx); err != nil {
		return nil, err
	}
	f, ok := fact(a.Topic)
	if !ok {
		return encode(map[string]any{"topic": a.Topic, "found": false,
			"answer": "No fact is recorded about " + a.Topic + "."}), nil
	}
	return encode(map[string]any{"topic": a.Topic, "found": true, "answer": f}), nil
}

func computePrimes(ctx context.Context, a primeArgs) (json.RawMessage, error) {
	if err := faultFrom(ctx); err != nil {
		return nil, err
	}
	if a.Limit < 2 || a.Limit > MaxPrimeLimit {
		return nil, repair.Repairable(fmt.Errorf("tools: limit %d not in [2,%d]", a.Limit, MaxPrimeLimit))
	}
	count, largest := primesUpTo(a.Limit)
	return encode(map[string]any{"limit": a.Limit, "count": count, "largest": largest,
		"answer": fmt.Sprintf("There are %d primes up to %d; the largest is %d.", count, a.Limit, largest)}), nil
}

// primesUpTo counts the primes up to n (n >= 2) with a sieve.
func primesUpTo(n int) (count, largest int) {
	composite := make([]bool, n+1)
	for i := 2; i <= n; i++ {
		if composite[i] {
			continue
		}
		count, largest = count+1, i
		for j := i * i; j <= n; j += i {
			composite[j] = true
		}
	}
	return count, largest
}
