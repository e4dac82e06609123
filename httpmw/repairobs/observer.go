package repairobs

import (
	"context"
	"errors"

	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/repair"
	"github.com/llmops-go/llmops/sli"
)

// Observer adapts rec to repair.Observer: every attempt is recorded as
// agent.repair.retry. With chargeModelCalls, each repair model call is also
// recorded as a GenAI model call (operation "chat") and its usage added to
// the httpmw task in the call's context, priced like httpmw.AddUsage; leave
// it false when the repair model's client already goes through the
// httpmw Transport.
func Observer(rec *sli.Recorder, chargeModelCalls bool) repair.Observer {
	o := repair.ObserverFuncs{OnAttempt: func(ctx context.Context, e repair.AttemptEvent) {
		kind, _ := sli.ParseRepairKind(e.Kind.String()) // an unknown kind is recorded as "_other"
		rec.RecordRepair(ctx, e.Tool, max(e.Attempt, 1), kind, e.Outcome.String())
	}}
	if chargeModelCalls {
		o.OnModelCall = func(ctx context.Context, e repair.ModelCallEvent) {
			u := sli.Usage{InputTokens: e.Usage.InputTokens, CachedInputTokens: e.Usage.CachedInputTokens, OutputTokens: e.Usage.OutputTokens}
			rec.RecordModelCall(ctx, sli.ModelCall{Operation: "chat", RequestModel: e.Model, ResponseModel: e.Model,
				Usage: u, Duration: e.Duration, ErrorType: errorType(e.Err)})
			_, _ = httpmw.AddUsage(ctx, e.Model, u) // the tokens are added even when pricing fails
		}
	}
	return o
}

// errorType is the error.type attribute of a failed repair model call.
func errorType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}
