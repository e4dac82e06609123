package sli

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
	"time"
)

// Errors of the rate card.
var (
	// ErrUnknownModel reports a model that is neither priced nor aliased on
	// the card, when the card has no fallback price. Cost never returns a
	// silent zero for such a model. The concrete error is an
	// *UnknownModelError.
	ErrUnknownModel = errors.New("sli: unknown model")
	// ErrInvalidUsage reports negative token counts, or more cached input
	// tokens than input tokens.
	ErrInvalidUsage = errors.New("sli: invalid usage")
	// ErrCostOverflow reports a cost that does not fit an int64 of
	// micro-USD (more than about 9.2 trillion USD).
	ErrCostOverflow = errors.New("sli: cost overflows int64 micro-USD")
	// ErrInvalidRateCard reports a rate card that failed validation: a
	// missing version or date, a negative or non-finite price, a dangling
	// alias, malformed JSON.
	ErrInvalidRateCard = errors.New("sli: invalid rate card")
)

// UnknownModelError is the error for a model the card cannot price. It
// matches ErrUnknownModel with errors.Is.
type UnknownModelError struct {
	// Model is the name as the caller passed it.
	Model string
}

// Error implements error.
func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("sli: unknown model %q", e.Model)
}

// Is reports whether target is ErrUnknownModel.
func (e *UnknownModelError) Is(target error) bool { return target == ErrUnknownModel }

// Usage is the token usage of one model call or of a whole task.
//
// InputTokens is the total input, cached tokens included (OpenAI's
// prompt_tokens); CachedInputTokens is the part of it served from the
// provider's prompt cache (OpenAI prompt_tokens_details.cached_tokens,
// Anthropic cache_read_input_tokens — for Anthropic add the cache reads to
// input_tokens to get InputTokens). Cache writes are priced as input.
type Usage struct {
	InputTokens       int64
	CachedInputTokens int64
	OutputTokens      int64
}

// Add returns the sum of u and v, for accumulating a task's usage over its
// model calls.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + v.InputTokens,
		CachedInputTokens: u.CachedInputTokens + v.CachedInputTokens,
		OutputTokens:      u.OutputTokens + v.OutputTokens,
	}
}

// Validate reports an error matching ErrInvalidUsage when a count is
// negative or the cached tokens exceed the input tokens.
func (u Usage) Validate() error {
	switch {
	case u.InputTokens < 0 || u.CachedInputTokens < 0 || u.OutputTokens < 0:
		return fmt.Errorf("%w: negative token count", ErrInvalidUsage)
	case u.CachedInputTokens > u.InputTokens:
		return fmt.Errorf("%w: %d cached input tokens exceed %d input tokens",
			ErrInvalidUsage, u.CachedInputTokens, u.InputTokens)
	}
	return nil
}

// Price is what a model costs, in micro-USD per million tokens (so 2500000
// is $2.50 per million tokens, and one token costs Price/1e6 micro-USD).
// Integer units keep the arithmetic exact; the smallest expressible price is
// $0.000001 per million tokens.
type Price struct {
	// Input is the price of uncached input tokens.
	Input int64
	// CachedInput is the price of input tokens read from the prompt cache.
	CachedInput int64
	// Output is the price of output tokens (reasoning tokens included).
	Output int64
}

// maxPrice bounds a price at $1,000,000 per million tokens: far above any
// list price, and low enough that no cost computation needs more than 128
// bits.
const maxPrice = 1_000_000 * microPerUSD

const microPerUSD = 1_000_000

// Validate reports an error matching ErrInvalidRateCard when a price is
// negative or absurdly large.
func (p Price) Validate() error {
	for _, f := range [...]struct {
		name string
		v    int64
	}{{"input", p.Input}, {"cached_input", p.CachedInput}, {"output", p.Output}} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s price is negative", ErrInvalidRateCard, f.name)
		}
		if f.v > maxPrice {
			return fmt.Errorf("%w: %s price is above $1,000,000 per million tokens", ErrInvalidRateCard, f.name)
		}
	}
	return nil
}

func (p Price) isZero() bool { return p == Price{} }

// PriceFromUSD converts prices in USD per million tokens into a Price,
// rounding each to the nearest micro-USD per million tokens. A negative,
// NaN or infinite price is an error matching ErrInvalidRateCard.
func PriceFromUSD(input, cachedInput, output float64) (Price, error) {
	var out [3]int64
	for i, f := range [...]float64{input, cachedInput, output} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Price{}, fmt.Errorf("%w: price is not finite", ErrInvalidRateCard)
		}
		if f < 0 {
			return Price{}, fmt.Errorf("%w: price is negative", ErrInvalidRateCard)
		}
		if f > maxPrice/microPerUSD {
			return Price{}, fmt.Errorf("%w: price is above $1,000,000 per million tokens", ErrInvalidRateCard)
		}
		out[i] = int64(math.Round(f * microPerUSD))
	}
	return Price{Input: out[0], CachedInput: out[1], Output: out[2]}, nil
}

// Cost returns the cost of u at this price in micro-USD, rounded up. It
// returns an error matching ErrInvalidUsage for invalid usage and one
// matching ErrCostOverflow when the result does not fit an int64.
func (p Price) Cost(u Usage) (int64, error) {
	if err := u.Validate(); err != nil {
		return 0, err
	}
	// sum = uncached*Input + cached*CachedInput + out*Output in 128 bits:
	// every factor is below 2^63, so each product is below 2^126 and the
	// sum of three below 2^128.
	var hi, lo uint64
	add := func(tokens, price int64) {
		h, l := bits.Mul64(uint64(tokens), uint64(price))
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		hi, _ = bits.Add64(hi, h, c)
	}
	add(u.InputTokens-u.CachedInputTokens, p.Input)
	add(u.CachedInputTokens, p.CachedInput)
	add(u.OutputTokens, p.Output)
	// Divide by one million tokens, rounding up.
	if hi >= microPerUSD {
		return 0, ErrCostOverflow
	}
	q, r := bits.Div64(hi, lo, microPerUSD)
	if r != 0 {
		q++
		if q == 0 {
			return 0, ErrCostOverflow
		}
	}
	if q > math.MaxInt64 {
		return 0, ErrCostOverflow
	}
	return int64(q), nil
}

// RateCard maps model names to prices. It has a version (carried by the
// agent.cost.usd metric), an effective date, aliases (for example Azure
// OpenAI deployment names, which users choose) and an optional fallback
// price for unknown models.
//
// Model names are matched case-insensitively after trimming spaces. A name
// that is neither priced nor aliased is normalized step by step, and looked
// up again after each step: a provider prefix ending in "/" and a Bedrock
// "anthropic." prefix are dropped; a date suffix (-2024-08-06, -20241022,
// @20241022, -0613), "-latest" and a Bedrock/Vertex version suffix (-v2,
// -v2:0) are removed; "claude-3.5-…" becomes "claude-3-5-…". Names are never
// matched by prefix, so gpt-4o-mini-2024-07-18 resolves to gpt-4o-mini and
// never to gpt-4o. Exact names win over normalization: a dated snapshot
// priced differently from its family (gpt-4o-2024-05-13) is listed under
// its own name.
//
// A RateCard is immutable: the With method returns a modified copy. It is
// safe for concurrent use by multiple goroutines.
type RateCard struct {
	version   string
	effective time.Time
	note      string
	models    map[string]Price
	aliases   map[string]string
	fallback  *Price
}

// CardOption configures a RateCard in NewRateCard, LoadRateCard and
// RateCard.With.
type CardOption interface {
	applyCard(*RateCard) error
}

type cardOptionFunc func(*RateCard) error

func (f cardOptionFunc) applyCard(c *RateCard) error { return f(c) }

// WithAlias maps alias (for example an Azure OpenAI deployment name) to a
// model priced on the card.
func WithAlias(alias, model string) CardOption {
	return cardOptionFunc(func(c *RateCard) error {
		a := canonicalName(alias)
		if a == "" {
			return fmt.Errorf("%w: empty alias", ErrInvalidRateCard)
		}
		c.aliases[a] = canonicalName(model)
		return nil
	})
}

// WithFallbackPrice makes the card price unknown models at p instead of
// refusing them with ErrUnknownModel. Quote reports when the fallback was
// used. An all-zero fallback is rejected: it would be a silent $0.
func WithFallbackPrice(p Price) CardOption {
	return cardOptionFunc(func(c *RateCard) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("fallback: %w", err)
		}
		if p.isZero() {
			return fmt.Errorf("%w: fallback price is zero", ErrInvalidRateCard)
		}
		c.fallback = &p
		return nil
	})
}

// WithRefuseUnknown removes the fallback price, so unknown models are
// refused with ErrUnknownModel (the default).
func WithRefuseUnknown() CardOption {
	return cardOptionFunc(func(c *RateCard) error {
		c.fallback = nil
		return nil
	})
}

// WithNote attaches a free-text note to the card (for example where the
// prices were checked).
func WithNote(note string) CardOption {
	return cardOptionFunc(func(c *RateCard) error {
		c.note = note
		return nil
	})
}

// NewRateCard returns a validated rate card. version must be 1 to 64
// printable ASCII characters; effective is the date from which the prices
// apply (kept as a UTC date); prices must name at least one model.
func NewRateCard(version string, effective time.Time, prices map[string]Price, opts ...CardOption) (*RateCard, error) {
	c := &RateCard{
		version:   version,
		effective: utcDate(effective),
		models:    make(map[string]Price, len(prices)),
		aliases:   make(map[string]string),
	}
	for name, p := range prices {
		n := canonicalName(name)
		if _, dup := c.models[n]; dup {
			return nil, fmt.Errorf("%w: model %q is listed twice", ErrInvalidRateCard, n)
		}
		c.models[n] = p
	}
	return c.finish(opts)
}

// With returns a validated copy of the card with opts applied.
func (c *RateCard) With(opts ...CardOption) (*RateCard, error) {
	cp := &RateCard{
		version:   c.version,
		effective: c.effective,
		note:      c.note,
		models:    make(map[string]Price, len(c.models)),
		aliases:   make(map[string]string, len(c.aliases)),
		fallback:  c.fallback,
	}
	for k, v := range c.models {
		cp.models[k] = v
	}
	for k, v := range c.aliases {
		cp.aliases[k] = v
	}
	return cp.finish(opts)
}

func (c *RateCard) finish(opts []CardOption) (*RateCard, error) {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyCard(c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *RateCard) validate() error {
	if err := validVersion(c.version); err != nil {
		return err
	}
	if c.effective.IsZero() {
		return fmt.Errorf("%w: no effective date", ErrInvalidRateCard)
	}
	if len(c.models) == 0 {
		return fmt.Errorf("%w: no models", ErrInvalidRateCard)
	}
	for name, p := range c.models {
		if name == "" {
			return fmt.Errorf("%w: empty model name", ErrInvalidRateCard)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("model %q: %w", name, err)
		}
	}
	for alias, target := range c.aliases {
		if _, ok := c.models[alias]; ok {
			return fmt.Errorf("%w: alias %q is also a priced model", ErrInvalidRateCard, alias)
		}
		if _, ok := c.models[target]; !ok {
			return fmt.Errorf("%w: alias %q points to %q, which is not priced", ErrInvalidRateCard, alias, target)
		}
	}
	return nil
}

func validVersion(v string) error {
	if v == "" || len(v) > 64 {
		return fmt.Errorf("%w: version must be 1 to 64 characters", ErrInvalidRateCard)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return fmt.Errorf("%w: version must be printable ASCII without spaces", ErrInvalidRateCard)
		}
	}
	return nil
}

func utcDate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Version returns the card's version; the agent.cost.usd metric carries it
// as the rate_card.version attribute.
func (c *RateCard) Version() string { return c.version }

// Effective returns the UTC date from which the card's prices apply.
func (c *RateCard) Effective() time.Time { return c.effective }

// Note returns the card's free-text note.
func (c *RateCard) Note() string { return c.note }

// Models returns the priced model names, sorted.
func (c *RateCard) Models() []string {
	out := make([]string, 0, len(c.models))
	for k := range c.models {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Aliases returns a copy of the card's aliases (alias → model).
func (c *RateCard) Aliases() map[string]string {
	out := make(map[string]string, len(c.aliases))
	for k, v := range c.aliases {
		out[k] = v
	}
	return out
}

// Fallback returns the fallback price for unknown models and whether the
// card has one.
func (c *RateCard) Fallback() (Price, bool) {
	if c.fallback == nil {
		return Price{}, false
	}
	return *c.fallback, true
}

// Lookup resolves model (an exact name, an alias or a dated/prefixed
// variant) to the priced model's canonical name and price. It ignores the
// fallback price: ok is false for an unknown model.
func (c *RateCard) Lookup(model string) (canonical string, p Price, ok bool) {
	name := canonicalName(model)
	for range 8 {
		if p, ok := c.models[name]; ok {
			return name, p, true
		}
		if target, ok := c.aliases[name]; ok {
			return target, c.models[target], true
		}
		next := stripOnce(name)
		if next == name || next == "" {
			break
		}
		name = next
	}
	return "", Price{}, false
}

// Quote is a priced usage: the cost and how it was priced.
type Quote struct {
	// MicroUSD is the cost in micro-USD, rounded up.
	MicroUSD int64
	// Model is the canonical model the price came from; empty when the
	// fallback price was used.
	Model string
	// Fallback reports that the model was unknown and the card's fallback
	// price was used.
	Fallback bool
}

// Quote prices u for model. An unknown model is priced at the card's
// fallback price when it has one (Fallback is then true) and is otherwise an
// *UnknownModelError matching ErrUnknownModel.
func (c *RateCard) Quote(model string, u Usage) (Quote, error) {
	name, p, ok := c.Lookup(model)
	fallback := false
	if !ok {
		if c.fallback == nil {
			return Quote{}, &UnknownModelError{Model: model}
		}
		p, fallback = *c.fallback, true
	}
	cost, err := p.Cost(u)
	if err != nil {
		return Quote{}, err
	}
	return Quote{MicroUSD: cost, Model: name, Fallback: fallback}, nil
}

// Cost returns the cost of u for model in micro-USD, rounded up. Errors:
// *UnknownModelError (matching ErrUnknownModel) for an unknown model on a
// card without fallback price, ErrInvalidUsage, ErrCostOverflow. An error
// always comes with a zero cost that must not be used.
func (c *RateCard) Cost(model string, u Usage) (int64, error) {
	q, err := c.Quote(model, u)
	return q.MicroUSD, err
}

// canonicalName lowercases and trims a model name. It does not allocate for
// names that are already lowercase and trimmed.
func canonicalName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// stripOnce applies the first normalization rule that changes name.
func stripOnce(name string) string {
	// Provider or router prefix: "openai/gpt-4o", "azure/…".
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	// Bedrock: "anthropic.claude-…", "us.anthropic.claude-…".
	if i := strings.Index(name, "anthropic."); i >= 0 && strings.HasPrefix(name[i+len("anthropic."):], "claude") {
		return name[i+len("anthropic."):]
	}
	// Vertex: "claude-3-5-sonnet-v2@20241022".
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		return name[:i]
	}
	if s, ok := strings.CutSuffix(name, "-latest"); ok {
		return s
	}
	// Bedrock version: "-v2:0", "-v1".
	if s, ok := cutVersionSuffix(name); ok {
		return s
	}
	if s, ok := cutDateSuffix(name); ok {
		return s
	}
	// "claude-3.5-sonnet" (routers) → "claude-3-5-sonnet".
	if strings.HasPrefix(name, "claude") && strings.IndexByte(name, '.') >= 0 {
		return strings.ReplaceAll(name, ".", "-")
	}
	return name
}

// cutVersionSuffix removes "-v<digits>" or "-v<digits>:<digits>".
func cutVersionSuffix(name string) (string, bool) {
	i := strings.LastIndex(name, "-v")
	if i <= 0 {
		return name, false
	}
	rest := name[i+2:]
	major, minor, hasMinor := strings.Cut(rest, ":")
	if !allDigits(major) || (hasMinor && !allDigits(minor)) {
		return name, false
	}
	return name[:i], true
}

// cutDateSuffix removes "-YYYY-MM-DD", "-YYYYMMDD" or "-MMDD".
func cutDateSuffix(name string) (string, bool) {
	if n := len(name); n > 11 && name[n-11] == '-' && name[n-6] == '-' && name[n-3] == '-' {
		y, m, d := name[n-10:n-6], name[n-5:n-3], name[n-2:]
		if allDigits(y) && validMonthDay(m, d) && y >= "2020" {
			return name[:n-11], true
		}
	}
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return name, false
	}
	s := name[i+1:]
	switch {
	case len(s) == 8 && allDigits(s) && s[:4] >= "2020" && validMonthDay(s[4:6], s[6:]):
		return name[:i], true
	case len(s) == 4 && allDigits(s) && validMonthDay(s[:2], s[2:]):
		return name[:i], true
	}
	return name, false
}

func validMonthDay(m, d string) bool {
	return allDigits(m) && allDigits(d) && len(m) == 2 && len(d) == 2 &&
		m >= "01" && m <= "12" && d >= "01" && d <= "31"
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
