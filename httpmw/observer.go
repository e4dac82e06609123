package httpmw

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/llmops-go/llmops/sli"
)

// ScopeName is the instrumentation scope of the instruments httpmw creates
// itself (the agent SLIs are recorded through the sli Recorder).
const ScopeName = "github.com/llmops-go/llmops/httpmw"

// MetricUnaccounted is the counter of successful model responses whose
// cost could not be accounted for: reason "no_usage" (the response carried
// no usage object) or "unknown_model" (the rate card has no price for the
// model). Neither is ever counted as a silent zero cost.
const MetricUnaccounted = "agent.model.unaccounted"

// maxUnaccountedModels caps the distinct model attribute values of
// MetricUnaccounted; later ones are recorded as sli.OtherValue.
const maxUnaccountedModels = 100

var errNoRateCard = errors.New("httpmw: no rate card")

// observer bridges the Transport and middleware to the sli Recorder and
// httpmw's own instruments. Every method is safe on a nil recorder.
type observer struct {
	rec         *sli.Recorder
	card        *sli.RateCard
	unaccounted metric.Int64Counter

	mu     sync.Mutex
	models map[string]struct{}
}

func newObserver(cfg *config) (*observer, error) {
	o := &observer{rec: cfg.recorder, card: cfg.rateCard, models: map[string]struct{}{}}
	if o.card == nil && o.rec != nil {
		o.card = o.rec.RateCard()
	}
	c, err := cfg.meterProvider.Meter(ScopeName).Int64Counter(MetricUnaccounted,
		metric.WithUnit("{response}"),
		metric.WithDescription("Successful model responses whose cost is unknown (no usage object, or a model missing from the rate card)."))
	if err != nil {
		return nil, err
	}
	o.unaccounted = c
	return o, nil
}

// price returns the cost of a response, trying the requested model first
// and then the model the response names.
func (o *observer) price(reqModel, respModel string, t tokens) (int64, error) {
	if o.card == nil {
		return 0, errNoRateCard
	}
	u := t.usage()
	cost, err := o.card.Cost(reqModel, u)
	if err != nil && errors.Is(err, sli.ErrUnknownModel) && respModel != "" && respModel != reqModel {
		cost, err = o.card.Cost(respModel, u)
	}
	return cost, err
}

func (o *observer) downshift(ctx context.Context, tenant, from, to string) {
	o.rec.RecordDownshift(ctx, tenant, from, to)
}

func (o *observer) modelCall(ctx context.Context, c *call, respModel string, t tokens, d time.Duration, errType string) {
	if o.rec == nil {
		return
	}
	o.rec.RecordModelCall(ctx, sli.ModelCall{
		Operation:     "chat",
		Provider:      c.provider,
		RequestModel:  c.model,
		ResponseModel: respModel,
		Usage:         t.usage(),
		Duration:      d,
		ErrorType:     errType,
	})
}

func (o *observer) unaccountedResponse(ctx context.Context, c *call, reason string) {
	o.unaccounted.Add(ctx, 1, metric.WithAttributes(
		attribute.String("reason", reason),
		attribute.String("gen_ai.provider.name", c.provider),
		attribute.String("gen_ai.request.model", o.cap(c.model)),
	))
}

// cap bounds the model attribute values of MetricUnaccounted.
func (o *observer) cap(model string) string {
	if model == "" {
		return "unknown"
	}
	if len(model) > sli.MaxAttributeValueLen {
		return sli.OtherValue
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.models[model]; ok {
		return model
	}
	if len(o.models) >= maxUnaccountedModels {
		return sli.OtherValue
	}
	o.models[model] = struct{}{}
	return model
}

func (t tokens) usage() sli.Usage {
	return sli.Usage{InputTokens: t.input, CachedInputTokens: t.cached, OutputTokens: t.output}
}
