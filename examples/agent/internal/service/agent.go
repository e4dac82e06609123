package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/examples/agent/internal/tools"
	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/repair"
)

// Failure reasons of a task (the reason attribute of agent.task.failure).
const (
	ReasonModelError  = "model_error"
	ReasonToolFailure = "tool_failure"
	ReasonInvalidArgs = "invalid_output"
	ReasonTaskCap     = "task_cap"
	ReasonMaxTurns    = "max_turns"
	ReasonCanceled    = "canceled"
)

const systemPrompt = "You are a helpful assistant. Use the tools to look up facts, count primes and search the web; " +
	"answer briefly from their results."

// callInfo is one tool call in the response's trace.
type callInfo struct {
	ID   string `json:"id"`
	Tool string `json:"tool"`
	// Arguments are the arguments the tool ran with (after repair).
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// ServedBy is the chain step that answered: the tool itself or a
	// fallback step.
	ServedBy string `json:"served_by,omitempty"`
	Fallback bool   `json:"fallback"`
	// Fault is the chaos fault that hit the call, if any.
	Fault string `json:"fault,omitempty"`
	// Repairs are the repair attempts of the call's arguments.
	Repairs  []repairInfo `json:"repairs,omitempty"`
	Repaired bool         `json:"repaired"`
	Error    string       `json:"error,omitempty"`
}

type repairInfo struct {
	Attempt int    `json:"attempt"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
}

// result is what one run of the agent loop produced.
type result struct {
	answer  string
	model   string
	calls   []*callInfo
	retries int
	err     error
	reason  string
	status  int
}

func (r *result) fallbacks() int {
	n := 0
	for _, c := range r.calls {
		if c.Fallback {
			n++
		}
	}
	return n
}

func (r *result) repairs() int {
	n := 0
	for _, c := range r.calls {
		if c.Repaired {
			n++
		}
	}
	return n
}

func (r *result) fail(reason string, status int, err error) {
	if r.err == nil {
		r.reason, r.status, r.err = reason, status, err
	}
}

// toolParams are the tools offered to the model.
func toolParams() []openai.ChatCompletionToolUnionParam {
	defs := tools.Definitions()
	out := make([]openai.ChatCompletionToolUnionParam, 0, len(defs))
	for _, d := range defs {
		var params shared.FunctionParameters
		_ = json.Unmarshal(d.Schema, &params) // the schemas are constants
		out = append(out, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: d.Name, Description: openai.String(d.Description), Parameters: params,
		}))
	}
	return out
}

// run is the agent loop: ask the model, run the tools it calls, repeat until
// it answers.
func (s *Service) run(ctx context.Context, tenant, prompt string) *result {
	res := &result{model: s.cfg.PrimaryModel, calls: []*callInfo{}}
	if m, ok := httpmw.DownshiftModel(ctx); ok {
		res.model = m
	}
	params := openai.ChatCompletionNewParams{
		Model:    s.cfg.PrimaryModel, // the Transport applies a downshift
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(systemPrompt), openai.UserMessage(prompt)},
		Tools:    toolParams(),
	}
	for turn := 0; turn < s.cfg.MaxTurns; turn++ {
		comp, err := s.complete(ctx, params, res)
		if err != nil {
			s.failModel(res, err)
			return res
		}
		if comp.Model != "" {
			res.model = comp.Model
		}
		msg := comp.Choices[0].Message
		if len(msg.ToolCalls) == 0 {
			res.answer = msg.Content
			return res
		}
		params.Messages = append(params.Messages, msg.ToParam())
		for _, tc := range msg.ToolCalls {
			info, out := s.callTool(ctx, tenant, tc.ID, tc.Function.Name, []byte(tc.Function.Arguments), res)
			res.calls = append(res.calls, info)
			params.Messages = append(params.Messages, openai.ToolMessage(out, tc.ID))
		}
		if ctx.Err() != nil {
			res.fail(ReasonCanceled, 499, ctx.Err())
			return res
		}
	}
	res.fail(ReasonMaxTurns, http.StatusBadGateway, fmt.Errorf("no answer after %d model calls", s.cfg.MaxTurns))
	return res
}

func (s *Service) failModel(res *result, err error) {
	var capErr *httpmw.CapError
	switch {
	case errors.As(err, &capErr):
		res.fail(ReasonTaskCap, http.StatusBadGateway, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		res.fail(ReasonCanceled, http.StatusGatewayTimeout, err)
	default:
		res.fail(ReasonModelError, http.StatusBadGateway, err)
	}
}

// complete makes one model call, asking again (at most modelDecodeRetries
// times) when the answer cannot be read: a corrupted body, no choice.
func (s *Service) complete(ctx context.Context, params openai.ChatCompletionNewParams, res *result) (*openai.ChatCompletion, error) {
	for attempt := 0; ; attempt++ {
		comp, err := s.completeOnce(ctx, params)
		if err == nil && len(comp.Choices) == 0 {
			err = errors.New("model answer has no choice")
		}
		if err == nil {
			return comp, nil
		}
		var apiErr *openai.Error
		var capErr *httpmw.CapError
		if attempt >= modelDecodeRetries || ctx.Err() != nil || errors.As(err, &apiErr) || errors.As(err, &capErr) {
			return nil, err
		}
		res.retries++
	}
}

func (s *Service) completeOnce(ctx context.Context, params openai.ChatCompletionNewParams) (*openai.ChatCompletion, error) {
	if !s.cfg.Stream {
		return s.llm.Chat.Completions.New(ctx, params)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := s.llm.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			return nil, errors.New("model stream is inconsistent")
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return &acc.ChatCompletion, nil
}

// callTool runs one tool call: chaos at the tool edge, argument repair,
// then the tool's fallback chain. It returns the trace entry and the text
// given back to the model.
func (s *Service) callTool(ctx context.Context, tenant, id, name string, args []byte, res *result) (*callInfo, string) {
	info := &callInfo{ID: id, Tool: name}
	if _, ok := s.registry.Lookup(name); !ok {
		info.Error = "unknown tool"
		res.fail(ReasonToolFailure, http.StatusBadGateway, fmt.Errorf("the model called an unknown tool %q", name))
		return info, `{"error":"unknown tool"}`
	}
	eff, fault := s.injector.Inject(ctx, chaos.Tool(name), tenant)
	switch {
	case fault != nil:
		info.Fault = faultName(fault)
	case eff.Malformed():
		info.Fault = chaos.Malformed.String()
		args = eff.Corrupt(args)
	case eff.Delay > 0:
		info.Fault = chaos.Latency.String()
	}
	ctx = withCallInfo(ctx, info)
	out, err := repair.Do(ctx, s.loop, name, args, func(ctx context.Context, a []byte) (tools.Outcome, error) {
		info.Arguments = json.RawMessage(a)
		return s.tools.Call(tools.WithFault(ctx, fault), name, a)
	})
	for _, r := range info.Repairs {
		if r.Outcome == repair.OutcomeRepaired.String() {
			info.Repaired = true
		}
	}
	if err != nil {
		info.Error = err.Error()
		switch {
		case errors.Is(err, repair.ErrNotRepaired):
			res.fail(ReasonInvalidArgs, http.StatusBadGateway, fmt.Errorf("tool %s: %w", name, err))
		case ctx.Err() != nil:
			res.fail(ReasonCanceled, http.StatusGatewayTimeout, ctx.Err())
		default:
			res.fail(ReasonToolFailure, http.StatusBadGateway, fmt.Errorf("tool %s: %w", name, err))
		}
		b, _ := json.Marshal(map[string]string{"error": "the tool failed"})
		return info, string(b)
	}
	info.ServedBy, info.Fallback = out.Step, out.Fallback
	return info, string(out.Result)
}

// faultName returns the chaos mode of a fault error.
func faultName(err error) string {
	switch {
	case errors.Is(err, chaos.ErrOutage):
		return chaos.Outage.String()
	case errors.Is(err, chaos.ErrThrottled):
		return chaos.Throttle.String()
	case errors.Is(err, fallback.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}
