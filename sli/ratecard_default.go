package sli

import (
	_ "embed"
	"fmt"
	"strings"
)

// defaultCardJSON is the built-in card. It is a string, so it is immutable.
//
//go:embed default_ratecard.json
var defaultCardJSON string

// DefaultRateCard returns the built-in rate card (version
// "builtin-2026-11-01", effective 2026-11-01): public list prices, standard
// tier, in USD per million tokens, for common OpenAI models (gpt-5.1, gpt-5,
// gpt-5-mini, gpt-5-nano, gpt-4.1, gpt-4.1-mini, gpt-4.1-nano, gpt-4o,
// gpt-4o-mini, gpt-4-turbo, gpt-3.5-turbo, o1, o3, o3-mini, o4-mini), the
// same models on Azure OpenAI global deployments (same list prices; Azure's
// "gpt-35-turbo" is an alias) and Anthropic models (claude-opus-4-5, -4-1,
// -4, claude-sonnet-4-5, -4, claude-3-7-sonnet, claude-3-5-sonnet,
// claude-haiku-4-5, claude-3-5-haiku, claude-3-haiku, claude-3-opus).
//
// The card refuses unknown models (no fallback price). It does not model
// batch, priority, regional/data-zone surcharges, long-context tiers or
// Anthropic cache-write premiums. Prices change: check them against the
// providers' pricing pages, and load your own card (LoadRateCard) for
// production billing. Options are applied on top, for example the aliases
// of your Azure deployments. Each call returns a new card.
func DefaultRateCard(opts ...CardOption) (*RateCard, error) {
	c, err := LoadRateCard(strings.NewReader(defaultCardJSON), opts...)
	if err != nil {
		return nil, fmt.Errorf("sli: built-in rate card: %w", err)
	}
	return c, nil
}
