package service

import (
	"context"

	"github.com/openai/openai-go/v3"

	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/repair"
	"github.com/llmops-go/llmops/sli"
)

type callInfoKey struct{}

// withCallInfo carries the trace entry of the tool call being run, so that
// the repair observer can add its attempts to it.
func withCallInfo(ctx context.Context, c *callInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, c)
}

func callInfoFrom(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return c
}

func tenantOf(ctx context.Context) string {
	if t := httpmw.TaskFrom(ctx); t != nil {
		return t.Tenant()
	}
	return ""
}

// toolObserver records every fallback step outcome as agent.tool.success.
type toolObserver struct{ rec *sli.Recorder }

var _ fallback.Observer = toolObserver{}

func (o toolObserver) ToolOutcome(ctx context.Context, ev fallback.ToolEvent) {
	var st sli.ToolStatus
	switch ev.Status {
	case fallback.StatusSuccess:
		st = sli.ToolSuccess
	case fallback.StatusFallback:
		st = sli.ToolFallback
	case fallback.StatusFailure:
		st = sli.ToolFailure
	}
	o.rec.RecordToolOutcome(ctx, tenantOf(ctx), ev.Tool, st)
}

func (toolObserver) BreakerChange(fallback.BreakerEvent) {}

// repairObserver records every repair attempt as agent.repair.retry and in
// the call's trace. Model calls are not charged here: they went through the
// httpmw Transport, which added them to the task already.
type repairObserver struct{ rec *sli.Recorder }

var _ repair.Observer = repairObserver{}

func (o repairObserver) Attempt(ctx context.Context, e repair.AttemptEvent) {
	kind := sli.RepairModel
	if e.Kind == repair.KindLocal {
		kind = sli.RepairLocal
	}
	o.rec.RecordRepair(ctx, e.Tool, e.Attempt, kind, e.Outcome.String())
	if c := callInfoFrom(ctx); c != nil {
		c.Repairs = append(c.Repairs, repairInfo{Attempt: e.Attempt, Kind: e.Kind.String(), Outcome: e.Outcome.String()})
	}
}

func (repairObserver) ModelCall(context.Context, repair.ModelCallEvent) {}

// repairModel adapts the service's OpenAI client to repair.Model.
type repairModel struct{ s *Service }

func (m repairModel) Complete(ctx context.Context, msgs []repair.Message) (repair.Completion, error) {
	params := openai.ChatCompletionNewParams{Model: m.s.cfg.PrimaryModel}
	for _, msg := range msgs {
		switch msg.Role {
		case repair.RoleSystem:
			params.Messages = append(params.Messages, openai.SystemMessage(msg.Content))
		case repair.RoleAssistant:
			params.Messages = append(params.Messages, openai.AssistantMessage(msg.Content))
		default:
			params.Messages = append(params.Messages, openai.UserMessage(msg.Content))
		}
	}
	resp, err := m.s.llm.Chat.Completions.New(ctx, params)
	if err != nil {
		return repair.Completion{}, err
	}
	c := repair.Completion{Model: resp.Model, Usage: repair.Usage{
		InputTokens:       resp.Usage.PromptTokens,
		CachedInputTokens: resp.Usage.PromptTokensDetails.CachedTokens,
		OutputTokens:      resp.Usage.CompletionTokens,
	}}
	if len(resp.Choices) > 0 {
		c.Text = resp.Choices[0].Message.Content
	}
	return c, nil
}
