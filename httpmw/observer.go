package httpmw

import (
	"context"
	"errors"
	"time"

	"github.com/llmops-go/llmops/sli"
)

var errNoRateCard = errors.New("httpmw: no rate card")

// observer bridges the Transport to the sli Recorder, through which every
// metric is recorded. Every method is safe on a nil recorder.
type observer struct {
	rec  *sli.Recorder
	card *sli.RateCard
}

func newObserver(cfg *config) *observer {
	o := &observer{rec: cfg.recorder, card: cfg.rateCard}
	if o.card == nil && o.rec != nil {
		o.card = o.rec.RateCard()
	}
	return o
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

// unaccounted records a successful response whose cost is unknown
// (sli.MetricUnaccounted).
func (o *observer) unaccounted(ctx context.Context, c *call, reason sli.UnaccountedReason) {
	o.rec.RecordUnaccounted(ctx, c.provider, c.model, reason)
}

func (t tokens) usage() sli.Usage {
	return sli.Usage{InputTokens: t.input, CachedInputTokens: t.cached, OutputTokens: t.output}
}
