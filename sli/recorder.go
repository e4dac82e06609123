package sli

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the Recorder's meter.
const ScopeName = "github.com/llmops-go/llmops/sli"

// Metric names: the eleven agent SLIs (a public contract) and the two
// OpenTelemetry GenAI semantic-convention client metrics.
const (
	MetricTaskSuccess    = "agent.task.success"
	MetricTaskFailure    = "agent.task.failure"
	MetricTaskLatency    = "agent.task.latency"
	MetricTokensIn       = "agent.tokens.in"
	MetricTokensOut      = "agent.tokens.out"
	MetricCostUSD        = "agent.cost.usd"
	MetricToolSuccess    = "agent.tool.success"
	MetricRepairRetry    = "agent.repair.retry"
	MetricModelDownshift = "agent.model.downshift"
	MetricBudgetBreach   = "agent.budget.breach"
	MetricChaosInjected  = "agent.chaos.injected"

	// MetricUnaccounted is not one of the eleven: it counts successful
	// model responses whose cost could not be accounted for, by reason
	// (UnaccountedReason: no usage object, or a model the rate card cannot
	// price), so they are never priced as a silent $0.
	MetricUnaccounted = "agent.model.unaccounted"

	MetricGenAITokenUsage        = "gen_ai.client.token.usage"
	MetricGenAIOperationDuration = "gen_ai.client.operation.duration"
)

// Attribute keys.
const (
	AttrTenant          = "tenant"
	AttrModel           = "model"
	AttrReason          = "reason"
	AttrOutcome         = "outcome"
	AttrRateCardVersion = "rate_card.version"
	AttrTool            = "tool"
	AttrStatus          = "status"
	AttrAttempt         = "attempt"
	AttrKind            = "kind"
	AttrFromModel       = "from_model"
	AttrToModel         = "to_model"
	AttrDecision        = "decision"
	AttrMode            = "mode"
	AttrTarget          = "target"

	AttrGenAITokenType     = "gen_ai.token.type"
	AttrGenAIOperationName = "gen_ai.operation.name"
	AttrGenAIProviderName  = "gen_ai.provider.name"
	AttrGenAIRequestModel  = "gen_ai.request.model"
	AttrGenAIResponseModel = "gen_ai.response.model"
	AttrErrorType          = "error.type"
)

// TaskLatencyBuckets returns the explicit bucket boundaries of
// agent.task.latency, in seconds: 50 ms to 2 minutes.
func TaskLatencyBuckets() []float64 {
	return []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120}
}

// GenAITokenUsageBuckets returns the bucket boundaries the GenAI semantic
// conventions advise for gen_ai.client.token.usage.
func GenAITokenUsageBuckets() []float64 {
	return []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
}

// GenAIDurationBuckets returns the bucket boundaries the GenAI semantic
// conventions advise for gen_ai.client.operation.duration, in seconds.
func GenAIDurationBuckets() []float64 {
	return []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
}

// maxAttemptAttr is the largest attempt number recorded as is; later
// attempts are recorded as maxAttemptAttr ("10 or more").
const maxAttemptAttr = 10

// unknownValue stands for an empty tenant, model, reason or provider.
const unknownValue = "unknown"

// Recorder records the agent SLIs and the GenAI client metrics. Create it
// with New. A nil *Recorder records nothing, so callers may keep one
// unconditionally. It is safe for concurrent use by multiple goroutines.
type Recorder struct {
	card *RateCard

	taskSuccess    metric.Int64Counter
	taskFailure    metric.Int64Counter
	taskLatency    metric.Float64Histogram
	tokensIn       metric.Int64Counter
	tokensOut      metric.Int64Counter
	costUSD        metric.Float64Counter
	toolSuccess    metric.Int64Counter
	repairRetry    metric.Int64Counter
	modelDownshift metric.Int64Counter
	budgetBreach   metric.Int64Counter
	chaosInjected  metric.Int64Counter
	unaccounted    metric.Int64Counter
	genAITokens    metric.Int64Histogram
	genAIDuration  metric.Float64Histogram

	// Limiters, one per capped attribute of an instrument group. The task
	// instruments (success, failure, latency, tokens, cost) are recorded
	// together and share theirs, so a tenant's series line up across them;
	// so do the two GenAI instruments.
	taskTenant, taskModel, taskReason       *limiter
	toolTenant, toolName                    *limiter
	repairTool, repairOutcome               *limiter
	downTenant, downModel                   *limiter
	breachTenant                            *limiter
	chaosMode, chaosTarget                  *limiter
	aiOperation, aiProvider, aiModel, aiErr *limiter

	taskSets   cache[[2]string, *taskSet]
	toolSets   cache[[2]string, *[4][]metric.AddOption]
	repairSets cache[repairKey, []metric.AddOption]
	downSets   cache[[3]string, []metric.AddOption]
	breachSets cache[string, *[3][]metric.AddOption]
	chaosSets  cache[[2]string, []metric.AddOption]
	unaccSets  cache[[2]string, *[3][]metric.AddOption]
	aiSets     cache[[4]string, *aiSet]
}

type repairKey struct {
	tool, outcome string
	attempt       int
	kind          RepairKind
}

// taskSet holds the prebuilt options for one (tenant, model).
type taskSet struct {
	tenant, model string
	base          []metric.AddOption    // tenant, model
	latencyOK     []metric.RecordOption // tenant, model, outcome=success
	latencyFail   []metric.RecordOption // tenant, model, outcome=failure
	cost          []metric.AddOption    // tenant, model, rate_card.version
	failure       cache[string, []metric.AddOption]
}

// aiSet holds the prebuilt options for one GenAI attribute combination.
type aiSet struct {
	attrs       []attribute.KeyValue
	input       []metric.RecordOption
	output      []metric.RecordOption
	durationOK  []metric.RecordOption
	durationErr cache[string, []metric.RecordOption]
}

// New creates a Recorder and its instruments. See the package
// documentation for the defaults.
func New(opts ...Option) (*Recorder, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	m := cfg.meterProvider.Meter(ScopeName)
	r := &Recorder{card: cfg.rateCard}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	r.taskSuccess = counter(MetricTaskSuccess, "{task}", "Agent tasks that completed successfully.")
	r.taskFailure = counter(MetricTaskFailure, "{task}", "Agent tasks that failed, by reason.")
	r.taskLatency, err = m.Float64Histogram(MetricTaskLatency, metric.WithUnit("s"),
		metric.WithDescription("End-to-end duration of agent tasks."),
		metric.WithExplicitBucketBoundaries(TaskLatencyBuckets()...))
	errs = append(errs, err)
	r.tokensIn = counter(MetricTokensIn, "{token}", "Input tokens consumed by agent tasks, cached tokens included.")
	r.tokensOut = counter(MetricTokensOut, "{token}", "Output tokens produced for agent tasks.")
	r.costUSD, err = m.Float64Counter(MetricCostUSD, metric.WithUnit("USD"),
		metric.WithDescription("Cost of agent tasks in USD, priced with the rate card."))
	errs = append(errs, err)
	r.toolSuccess = counter(MetricToolSuccess, "{call}", "Tool calls by outcome: success, fallback or failure.")
	r.repairRetry = counter(MetricRepairRetry, "{attempt}", "Tool-argument repair attempts.")
	r.modelDownshift = counter(MetricModelDownshift, "{request}", "Model calls moved to a cheaper model.")
	r.budgetBreach = counter(MetricBudgetBreach, "{breach}", "Budget thresholds crossed, by decision.")
	r.chaosInjected = counter(MetricChaosInjected, "{fault}", "Faults injected by chaos.")
	r.unaccounted = counter(MetricUnaccounted, "{response}",
		"Successful model responses whose cost is unknown (no usage object, or a model missing from the rate card).")
	r.genAITokens, err = m.Int64Histogram(MetricGenAITokenUsage, metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithExplicitBucketBoundaries(GenAITokenUsageBuckets()...))
	errs = append(errs, err)
	r.genAIDuration, err = m.Float64Histogram(MetricGenAIOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("GenAI operation duration."),
		metric.WithExplicitBucketBoundaries(GenAIDurationBuckets()...))
	errs = append(errs, err)
	for _, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("sli: create instruments: %w", e)
		}
	}
	n := cfg.maxValues
	for _, l := range []**limiter{
		&r.taskTenant, &r.taskModel, &r.taskReason, &r.toolTenant, &r.toolName,
		&r.repairTool, &r.repairOutcome, &r.downTenant, &r.downModel, &r.breachTenant,
		&r.chaosMode, &r.chaosTarget, &r.aiOperation, &r.aiProvider, &r.aiModel, &r.aiErr,
	} {
		*l = newLimiter(n)
	}
	return r, nil
}

// RateCard returns the Recorder's rate card (its version is the
// rate_card.version attribute of agent.cost.usd).
func (r *Recorder) RateCard() *RateCard {
	if r == nil {
		return nil
	}
	return r.card
}

// Task is one completed agent task (typically one request to the agent).
type Task struct {
	// Tenant and Model (the model that served the task) are capped
	// attributes; empty values are recorded as "unknown".
	Tenant string
	Model  string
	// Duration is the task's end-to-end latency.
	Duration time.Duration
	// Success reports that the task achieved its goal. The zero Task is a
	// failure: a task is never counted as successful by omission.
	Success bool
	// FailureReason is the reason attribute of agent.task.failure when
	// Success is false (capped; empty is recorded as "unknown"). Keep it to
	// a small fixed vocabulary, such as "timeout", "model_error",
	// "tool_failure", "budget_blocked", "invalid_output", "panic".
	FailureReason string
	// Usage is the task's token usage over all its model calls.
	Usage Usage
	// CostMicroUSD is the task's cost in micro-USD, as priced by the rate
	// card (RateCard.Cost summed over the task's model calls).
	CostMicroUSD int64
}

// RecordTask records one completed task: agent.task.success or
// agent.task.failure, agent.task.latency, agent.tokens.in,
// agent.tokens.out and agent.cost.usd. Zero and negative token counts and
// costs are not added; a negative duration is recorded as zero.
//
// After the first task of a (tenant, model) pair it does not allocate.
func (r *Recorder) RecordTask(ctx context.Context, t Task) {
	if r == nil {
		return
	}
	// Keys of taskSets are admitted values (or OtherValue), so a hit on the
	// raw values proves them admitted and skips the limiters.
	set, ok := r.taskSets.load([2]string{orUnknown(t.Tenant), orUnknown(t.Model)})
	if !ok {
		key := [2]string{r.taskTenant.admit(orUnknown(t.Tenant)), r.taskModel.admit(orUnknown(t.Model))}
		set = r.taskSets.get(key, r.newTaskSet)
	}
	secs := t.Duration.Seconds()
	if secs < 0 {
		secs = 0
	}
	if t.Success {
		r.taskSuccess.Add(ctx, 1, set.base...)
		r.taskLatency.Record(ctx, secs, set.latencyOK...)
	} else {
		opts, ok := set.failure.load(orUnknown(t.FailureReason))
		if !ok {
			opts = set.failure.get(r.taskReason.admit(orUnknown(t.FailureReason)), set.newFailure)
		}
		r.taskFailure.Add(ctx, 1, opts...)
		r.taskLatency.Record(ctx, secs, set.latencyFail...)
	}
	if t.Usage.InputTokens > 0 {
		r.tokensIn.Add(ctx, t.Usage.InputTokens, set.base...)
	}
	if t.Usage.OutputTokens > 0 {
		r.tokensOut.Add(ctx, t.Usage.OutputTokens, set.base...)
	}
	if t.CostMicroUSD > 0 {
		r.costUSD.Add(ctx, float64(t.CostMicroUSD)/microPerUSD, set.cost...)
	}
}

func (r *Recorder) newTaskSet(k [2]string) *taskSet {
	tenant, model := attribute.String(AttrTenant, k[0]), attribute.String(AttrModel, k[1])
	return &taskSet{
		tenant:      k[0],
		model:       k[1],
		base:        addOpts(tenant, model),
		latencyOK:   recordOpts(tenant, model, attribute.String(AttrOutcome, "success")),
		latencyFail: recordOpts(tenant, model, attribute.String(AttrOutcome, "failure")),
		cost:        addOpts(tenant, model, attribute.String(AttrRateCardVersion, r.card.Version())),
	}
}

func (s *taskSet) newFailure(reason string) []metric.AddOption {
	return addOpts(attribute.String(AttrTenant, s.tenant), attribute.String(AttrModel, s.model),
		attribute.String(AttrReason, reason))
}

// ModelCall is one call to a model (an LLM API request), described with the
// GenAI semantic conventions.
type ModelCall struct {
	// Operation is gen_ai.operation.name: "chat" (the default when empty),
	// "text_completion", "embeddings", "generate_content", …
	Operation string
	// Provider is gen_ai.provider.name: "openai", "azure.ai.openai",
	// "anthropic", "aws.bedrock", … (empty is recorded as "unknown").
	Provider string
	// RequestModel is gen_ai.request.model, the model asked for (empty is
	// recorded as "unknown").
	RequestModel string
	// ResponseModel is gen_ai.response.model, the model that answered;
	// omitted when empty.
	ResponseModel string
	// Usage is the call's billable token usage. Input tokens are the total
	// input, cached ones included.
	Usage Usage
	// Duration is the client-side duration of the call.
	Duration time.Duration
	// ErrorType is error.type for a failed call: an HTTP status code
	// ("429", "503"), an exception or error class ("timeout",
	// "malformed_response"), or "_OTHER". Empty means the call succeeded.
	ErrorType string
}

// RecordModelCall records gen_ai.client.operation.duration and, when the
// call succeeded or reported tokens, gen_ai.client.token.usage (one input
// and one output measurement). It does not touch agent.tokens.*: those are
// recorded per task by RecordTask, so tokens are never counted twice.
func (r *Recorder) RecordModelCall(ctx context.Context, c ModelCall) {
	if r == nil {
		return
	}
	op := c.Operation
	if op == "" {
		op = "chat"
	}
	// As in RecordTask, a hit on the raw values proves them admitted.
	set, ok := r.aiSets.load([4]string{op, orUnknown(c.Provider), orUnknown(c.RequestModel), c.ResponseModel})
	if !ok {
		resp := c.ResponseModel
		if resp != "" {
			resp = r.aiModel.admit(resp)
		}
		set = r.aiSets.get([4]string{
			r.aiOperation.admit(op),
			r.aiProvider.admit(orUnknown(c.Provider)),
			r.aiModel.admit(orUnknown(c.RequestModel)),
			resp,
		}, newAISet)
	}
	secs := c.Duration.Seconds()
	if secs < 0 {
		secs = 0
	}
	if c.ErrorType == "" {
		r.genAIDuration.Record(ctx, secs, set.durationOK...)
	} else {
		opts, ok := set.durationErr.load(c.ErrorType)
		if !ok {
			opts = set.durationErr.get(r.aiErr.admit(c.ErrorType), set.newErr)
		}
		r.genAIDuration.Record(ctx, secs, opts...)
	}
	if c.ErrorType == "" || c.Usage.InputTokens > 0 || c.Usage.OutputTokens > 0 {
		r.genAITokens.Record(ctx, max(c.Usage.InputTokens, 0), set.input...)
		r.genAITokens.Record(ctx, max(c.Usage.OutputTokens, 0), set.output...)
	}
}

func newAISet(k [4]string) *aiSet {
	attrs := []attribute.KeyValue{
		attribute.String(AttrGenAIOperationName, k[0]),
		attribute.String(AttrGenAIProviderName, k[1]),
		attribute.String(AttrGenAIRequestModel, k[2]),
	}
	if k[3] != "" {
		attrs = append(attrs, attribute.String(AttrGenAIResponseModel, k[3]))
	}
	with := func(kv attribute.KeyValue) []metric.RecordOption {
		return recordOpts(append(attrs[:len(attrs):len(attrs)], kv)...)
	}
	return &aiSet{
		attrs:      attrs,
		input:      with(attribute.String(AttrGenAITokenType, "input")),
		output:     with(attribute.String(AttrGenAITokenType, "output")),
		durationOK: recordOpts(attrs...),
	}
}

func (s *aiSet) newErr(errType string) []metric.RecordOption {
	return recordOpts(append(s.attrs[:len(s.attrs):len(s.attrs)], attribute.String(AttrErrorType, errType))...)
}

// RecordToolOutcome records one tool call's outcome (agent.tool.success
// with tenant, tool and status). An invalid status is recorded as "_other".
func (r *Recorder) RecordToolOutcome(ctx context.Context, tenant, tool string, status ToolStatus) {
	if r == nil {
		return
	}
	sets := r.toolSets.get([2]string{r.toolTenant.admit(orUnknown(tenant)), r.toolName.admit(orUnknown(tool))},
		func(k [2]string) *[4][]metric.AddOption {
			var out [4][]metric.AddOption
			for i := range out {
				out[i] = addOpts(attribute.String(AttrTenant, k[0]), attribute.String(AttrTool, k[1]),
					attribute.String(AttrStatus, ToolStatus(i).label()))
			}
			return &out
		})
	i := 0
	if status >= ToolSuccess && status <= ToolFailure {
		i = int(status)
	}
	r.toolSuccess.Add(ctx, 1, sets[i]...)
}

// RecordRepair records one repair attempt of a tool call's arguments
// (agent.repair.retry with tool, attempt, kind and outcome). attempt counts
// from 1; attempts above 10 are recorded as 10 and attempts below 1 as 1.
// outcome is a capped string such as "repaired", "invalid" or "error".
func (r *Recorder) RecordRepair(ctx context.Context, tool string, attempt int, kind RepairKind, outcome string) {
	if r == nil {
		return
	}
	attempt = min(max(attempt, 1), maxAttemptAttr)
	if kind < RepairLocal || kind > RepairModel {
		kind = 0
	}
	k := repairKey{
		tool:    r.repairTool.admit(orUnknown(tool)),
		outcome: r.repairOutcome.admit(orUnknown(outcome)),
		attempt: attempt,
		kind:    kind,
	}
	r.repairRetry.Add(ctx, 1, r.repairSets.get(k, func(k repairKey) []metric.AddOption {
		return addOpts(attribute.String(AttrTool, k.tool), attribute.Int(AttrAttempt, k.attempt),
			attribute.String(AttrKind, k.kind.label()), attribute.String(AttrOutcome, k.outcome))
	})...)
}

// RecordDownshift records that a tenant's model call was moved from one
// model to a cheaper one (agent.model.downshift with tenant, from_model and
// to_model).
func (r *Recorder) RecordDownshift(ctx context.Context, tenant, from, to string) {
	if r == nil {
		return
	}
	k := [3]string{r.downTenant.admit(orUnknown(tenant)), r.downModel.admit(orUnknown(from)), r.downModel.admit(orUnknown(to))}
	r.modelDownshift.Add(ctx, 1, r.downSets.get(k, func(k [3]string) []metric.AddOption {
		return addOpts(attribute.String(AttrTenant, k[0]), attribute.String(AttrFromModel, k[1]),
			attribute.String(AttrToModel, k[2]))
	})...)
}

// RecordBudgetBreach records that a tenant's spend crossed a budget
// threshold (agent.budget.breach with tenant and decision). An invalid
// decision is recorded as "_other".
func (r *Recorder) RecordBudgetBreach(ctx context.Context, tenant string, d BreachDecision) {
	if r == nil {
		return
	}
	sets := r.breachSets.get(r.breachTenant.admit(orUnknown(tenant)), func(t string) *[3][]metric.AddOption {
		var out [3][]metric.AddOption
		for i := range out {
			out[i] = addOpts(attribute.String(AttrTenant, t), attribute.String(AttrDecision, BreachDecision(i).label()))
		}
		return &out
	})
	i := 0
	if d >= BreachDownshift && d <= BreachBlock {
		i = int(d)
	}
	r.budgetBreach.Add(ctx, 1, sets[i]...)
}

// RecordChaosInjected records one injected fault (agent.chaos.injected with
// mode — throttle, malformed, outage, latency — and target — "model",
// "tools" or "tool:<name>"; both capped).
func (r *Recorder) RecordChaosInjected(ctx context.Context, mode, target string) {
	if r == nil {
		return
	}
	k := [2]string{r.chaosMode.admit(orUnknown(mode)), r.chaosTarget.admit(orUnknown(target))}
	r.chaosInjected.Add(ctx, 1, r.chaosSets.get(k, func(k [2]string) []metric.AddOption {
		return addOpts(attribute.String(AttrMode, k[0]), attribute.String(AttrTarget, k[1]))
	})...)
}

// RecordUnaccounted records a successful model response whose cost could
// not be accounted for (agent.model.unaccounted with reason,
// gen_ai.provider.name and gen_ai.request.model; provider and model are
// capped by the GenAI limiters), so that a call that could not be priced is
// visible instead of costing a silent $0. An invalid reason is recorded as
// "_other".
//
// After the first response of a (provider, model) pair it does not allocate.
func (r *Recorder) RecordUnaccounted(ctx context.Context, provider, model string, reason UnaccountedReason) {
	if r == nil {
		return
	}
	k := [2]string{r.aiProvider.admit(orUnknown(provider)), r.aiModel.admit(orUnknown(model))}
	sets := r.unaccSets.get(k, func(k [2]string) *[3][]metric.AddOption {
		var out [3][]metric.AddOption
		for i := range out {
			out[i] = addOpts(attribute.String(AttrReason, UnaccountedReason(i).label()),
				attribute.String(AttrGenAIProviderName, k[0]), attribute.String(AttrGenAIRequestModel, k[1]))
		}
		return &out
	})
	i := 0
	if reason >= UnaccountedNoUsage && reason <= UnaccountedUnknownModel {
		i = int(reason)
	}
	r.unaccounted.Add(ctx, 1, sets[i]...)
}

func orUnknown(s string) string {
	if s == "" {
		return unknownValue
	}
	return s
}

func addOpts(kvs ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

func recordOpts(kvs ...attribute.KeyValue) []metric.RecordOption {
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}
