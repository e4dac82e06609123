package sli

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// DefaultMaxAttributeValues is the default number of distinct values each
// capped attribute (tenant, model, tool, reason, …) may take per instrument
// before further values are recorded as "_other".
const DefaultMaxAttributeValues = 100

// maxAttributeValuesLimit bounds WithMaxAttributeValues.
const maxAttributeValuesLimit = 100_000

// Option configures New. It is sealed: only this package's With functions
// return Options.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds every setting and its default in one place.
type config struct {
	meterProvider metric.MeterProvider
	rateCard      *RateCard
	maxValues     int
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxValues: DefaultMaxAttributeValues,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.maxValues < 1 || c.maxValues > maxAttributeValuesLimit {
		return c, fmt.Errorf("sli: max attribute values must be in [1, %d], got %d", maxAttributeValuesLimit, c.maxValues)
	}
	if c.rateCard == nil {
		rc, err := DefaultRateCard()
		if err != nil {
			return c, err
		}
		c.rateCard = rc
	}
	return c, nil
}

// WithMeterProvider sets the MeterProvider the instruments are created
// from. The default is otel.GetMeterProvider() at the time New is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithRateCard sets the rate card whose version the agent.cost.usd metric
// carries and which Recorder.RateCard returns. The default is
// DefaultRateCard().
func WithRateCard(rc *RateCard) Option {
	return optionFunc(func(c *config) { c.rateCard = rc })
}

// WithMaxAttributeValues sets how many distinct values each capped
// attribute may take per instrument (default DefaultMaxAttributeValues,
// allowed 1 to 100000). Later values are recorded as "_other".
func WithMaxAttributeValues(n int) Option {
	return optionFunc(func(c *config) { c.maxValues = n })
}
