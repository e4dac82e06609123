package sli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// MaxRateCardBytes bounds the size of a JSON rate card accepted by
// LoadRateCard.
const MaxRateCardBytes = 1 << 20

// jsonCard is the JSON form of a RateCard. Prices are USD per million
// tokens as plain decimal numbers with at most six decimals.
type jsonCard struct {
	Version   string               `json:"version"`
	Effective string               `json:"effective"`
	Currency  string               `json:"currency,omitempty"`
	Note      string               `json:"note,omitempty"`
	Models    map[string]jsonPrice `json:"models"`
	Aliases   map[string]string    `json:"aliases,omitempty"`
	Fallback  *jsonPrice           `json:"fallback,omitempty"`
}

type jsonPrice struct {
	Input       json.Number `json:"input"`
	CachedInput json.Number `json:"cached_input,omitempty"`
	Output      json.Number `json:"output"`
}

// LoadRateCardFile reads a JSON rate card from path; see LoadRateCard.
func LoadRateCardFile(path string, opts ...CardOption) (*RateCard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sli: rate card: %w", err)
	}
	defer f.Close()
	return LoadRateCard(f, opts...)
}

// LoadRateCard decodes and validates a JSON rate card, then applies opts
// (for example aliases for the deployments of this installation):
//
//	{
//	  "version": "acme-2026-11-01",
//	  "effective": "2026-11-01",
//	  "currency": "USD",
//	  "note": "list prices checked on 2026-11-01",
//	  "models": {
//	    "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00}
//	  },
//	  "aliases": {"prod-chat": "gpt-4o"},
//	  "fallback": {"input": 15, "output": 75}
//	}
//
// Prices are USD per million tokens, written as plain decimals (a JSON
// number or a string) with at most six decimals; negative prices, exponents
// and anything that is not a finite decimal are errors. cached_input may be
// omitted, in which case cached tokens cost as much as other input. currency
// must be "USD" when present. Without "fallback", unknown models are refused
// with ErrUnknownModel. Decoding is strict: unknown fields, duplicate model
// or alias names, trailing data and inputs over MaxRateCardBytes are
// rejected. Every error matches ErrInvalidRateCard.
func LoadRateCard(r io.Reader, opts ...CardOption) (*RateCard, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRateCardBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %w", ErrInvalidRateCard, err)
	}
	if len(data) > MaxRateCardBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidRateCard, MaxRateCardBytes)
	}
	return parseRateCard(data, opts)
}

func parseRateCard(data []byte, opts []CardOption) (*RateCard, error) {
	if err := checkDuplicateKeys(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var jc jsonCard
	if err := dec.Decode(&jc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRateCard, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the card", ErrInvalidRateCard)
	}
	if jc.Currency != "" && jc.Currency != "USD" {
		return nil, fmt.Errorf("%w: currency %q is not USD", ErrInvalidRateCard, jc.Currency)
	}
	eff, err := time.Parse(time.DateOnly, jc.Effective)
	if err != nil {
		return nil, fmt.Errorf("%w: effective must be a YYYY-MM-DD date: %w", ErrInvalidRateCard, err)
	}
	prices := make(map[string]Price, len(jc.Models))
	for name, jp := range jc.Models {
		p, err := jp.price()
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", name, err)
		}
		if canonicalName(name) != name {
			return nil, fmt.Errorf("%w: model %q must be lowercase without surrounding spaces", ErrInvalidRateCard, name)
		}
		prices[name] = p
	}
	all := make([]CardOption, 0, len(jc.Aliases)+len(opts)+2)
	if jc.Note != "" {
		all = append(all, WithNote(jc.Note))
	}
	seen := make(map[string]bool, len(jc.Aliases))
	for a, m := range jc.Aliases {
		if seen[canonicalName(a)] {
			return nil, fmt.Errorf("%w: alias %q is listed twice", ErrInvalidRateCard, canonicalName(a))
		}
		seen[canonicalName(a)] = true
		all = append(all, WithAlias(a, m))
	}
	if jc.Fallback != nil {
		p, err := jc.Fallback.price()
		if err != nil {
			return nil, fmt.Errorf("fallback: %w", err)
		}
		all = append(all, WithFallbackPrice(p))
	}
	all = append(all, opts...)
	return NewRateCard(jc.Version, eff, prices, all...)
}

func (jp jsonPrice) price() (Price, error) {
	in, err := parseUSD("input", jp.Input)
	if err != nil {
		return Price{}, err
	}
	out, err := parseUSD("output", jp.Output)
	if err != nil {
		return Price{}, err
	}
	cached := in
	if jp.CachedInput != "" {
		if cached, err = parseUSD("cached_input", jp.CachedInput); err != nil {
			return Price{}, err
		}
	}
	p := Price{Input: in, CachedInput: cached, Output: out}
	return p, p.Validate()
}

// parseUSD parses a plain decimal in USD into micro-USD exactly.
func parseUSD(field string, n json.Number) (int64, error) {
	s := string(n)
	if s == "" {
		return 0, fmt.Errorf("%w: %s price is missing", ErrInvalidRateCard, field)
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%w: %s price is negative", ErrInvalidRateCard, field)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if !allDigits(whole) || (frac != "" && !allDigits(frac)) || strings.HasSuffix(s, ".") {
		return 0, fmt.Errorf("%w: %s price %q is not a plain decimal", ErrInvalidRateCard, field, s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 6 {
		return 0, fmt.Errorf("%w: %s price %q has more than six decimals", ErrInvalidRateCard, field, s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 7 { // > $9,999,999: Validate's bound would reject it anyway
		return 0, fmt.Errorf("%w: %s price %q is above $1,000,000 per million tokens", ErrInvalidRateCard, field, s)
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	return w*microPerUSD + f, nil
}

// formatUSD renders micro-USD as the shortest plain decimal in USD.
func formatUSD(micro int64) string {
	s := strconv.FormatInt(micro/microPerUSD, 10)
	if f := micro % microPerUSD; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return s
}

// MarshalJSON encodes the card in the format LoadRateCard reads; loading
// the result gives an equal card.
func (c *RateCard) MarshalJSON() ([]byte, error) {
	jc := jsonCard{
		Version:   c.version,
		Effective: c.effective.Format(time.DateOnly),
		Currency:  "USD",
		Note:      c.note,
		Models:    make(map[string]jsonPrice, len(c.models)),
	}
	enc := func(p Price) jsonPrice {
		return jsonPrice{
			Input:       json.Number(formatUSD(p.Input)),
			CachedInput: json.Number(formatUSD(p.CachedInput)),
			Output:      json.Number(formatUSD(p.Output)),
		}
	}
	for k, p := range c.models {
		jc.Models[k] = enc(p)
	}
	if len(c.aliases) > 0 {
		jc.Aliases = c.Aliases()
	}
	if c.fallback != nil {
		fp := enc(*c.fallback)
		jc.Fallback = &fp
	}
	return json.Marshal(jc)
}

// checkDuplicateKeys rejects a JSON document in which any object repeats a
// key (encoding/json would silently keep the last one, which for a price
// list hides a mistake).
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []dupFrame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRateCard, err)
		}
		if len(stack) > 0 && stack[len(stack)-1].obj && stack[len(stack)-1].key {
			top := &stack[len(stack)-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				markValueDone(stack)
				continue
			}
			k, _ := tok.(string)
			if _, dup := top.keys[k]; dup {
				return fmt.Errorf("%w: key %q appears twice in one object", ErrInvalidRateCard, k)
			}
			top.keys[k] = struct{}{}
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= 16 {
				return fmt.Errorf("%w: nested too deeply", ErrInvalidRateCard)
			}
			stack = append(stack, dupFrame{obj: true, keys: map[string]struct{}{}, key: true})
		case json.Delim('['):
			if len(stack) >= 16 {
				return fmt.Errorf("%w: nested too deeply", ErrInvalidRateCard)
			}
			stack = append(stack, dupFrame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			markValueDone(stack)
		default:
			markValueDone(stack)
		}
	}
}

type dupFrame struct {
	obj  bool
	keys map[string]struct{}
	key  bool // the next token in an object is a key
}

// markValueDone records that a value of the innermost object was read, so
// the next token is a key again.
func markValueDone(stack []dupFrame) {
	if len(stack) > 0 && stack[len(stack)-1].obj {
		stack[len(stack)-1].key = true
	}
}
