package sli

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

var (
	kvTenant = func(v string) attribute.KeyValue { return attribute.String(AttrTenant, v) }
	kvModel  = func(v string) attribute.KeyValue { return attribute.String(AttrModel, v) }
)

func TestRecordTask(t *testing.T) {
	rc, err := DefaultRateCard()
	if err != nil {
		t.Fatal(err)
	}
	r, reader := newTestRecorder(t, WithRateCard(rc))
	ctx := context.Background()
	r.RecordTask(ctx, Task{Tenant: "acme", Model: "gpt-4o", Duration: 300 * time.Millisecond, Success: true,
		Usage: Usage{InputTokens: 1000, OutputTokens: 200}, CostMicroUSD: 4500})
	r.RecordTask(ctx, Task{Tenant: "acme", Model: "gpt-4o", Duration: 3 * time.Second, Success: true,
		Usage: Usage{InputTokens: 500, CachedInputTokens: 100, OutputTokens: 50}, CostMicroUSD: 1500})
	r.RecordTask(ctx, Task{Tenant: "acme", Model: "gpt-4o", Duration: 90 * time.Second,
		FailureReason: "timeout", Usage: Usage{InputTokens: 10}, CostMicroUSD: 25})
	r.RecordTask(ctx, Task{Tenant: "globex", Model: "gpt-4o-mini", Duration: -time.Second}) // zero Task fields: a failure

	ms := collect(t, reader)
	acme := attrsOf(kvTenant("acme"), kvModel("gpt-4o"))
	globex := attrsOf(kvTenant("globex"), kvModel("gpt-4o-mini"))
	wantInt(t, ms, MetricTaskSuccess, "{task}", map[attribute.Set]int64{acme: 2})
	wantInt(t, ms, MetricTaskFailure, "{task}", map[attribute.Set]int64{
		attrsOf(kvTenant("acme"), kvModel("gpt-4o"), attribute.String(AttrReason, "timeout")):        1,
		attrsOf(kvTenant("globex"), kvModel("gpt-4o-mini"), attribute.String(AttrReason, "unknown")): 1,
	})
	wantInt(t, ms, MetricTokensIn, "{token}", map[attribute.Set]int64{acme: 1510})
	wantInt(t, ms, MetricTokensOut, "{token}", map[attribute.Set]int64{acme: 250})
	_ = globex

	cost := ms[MetricCostUSD]
	if cost.Unit != "USD" {
		t.Errorf("cost unit %q", cost.Unit)
	}
	cs := floatSum(t, cost)
	if len(cs) != 1 {
		t.Fatalf("cost series: %v", cs)
	}
	costSet := attrsOf(kvTenant("acme"), kvModel("gpt-4o"), attribute.String(AttrRateCardVersion, "builtin-2026-11-01"))
	if got := cs[dk(costSet)].Value; math.Abs(got-0.006025) > 1e-12 {
		t.Errorf("cost = %v, want 0.006025", got)
	}

	lat := ms[MetricTaskLatency]
	if lat.Unit != "s" {
		t.Errorf("latency unit %q", lat.Unit)
	}
	hp := histPoints[float64](t, lat)
	if len(hp) != 3 {
		t.Fatalf("latency series: %d, want 3", len(hp))
	}
	ok := hp[dk(attrsOf(kvTenant("acme"), kvModel("gpt-4o"), attribute.String(AttrOutcome, "success")))]
	if ok.Count != 2 || ok.Sum != 3.3 || !slices.Equal(ok.Bounds, TaskLatencyBuckets()) {
		t.Errorf("latency success: count %d sum %v bounds %v", ok.Count, ok.Sum, ok.Bounds)
	}
	// 0.3 s falls in (0.25, 0.5], 3 s in (2, 4].
	if ok.BucketCounts[3] != 1 || ok.BucketCounts[6] != 1 {
		t.Errorf("latency buckets %v", ok.BucketCounts)
	}
	fail := hp[dk(attrsOf(kvTenant("acme"), kvModel("gpt-4o"), attribute.String(AttrOutcome, "failure")))]
	if fail.Count != 1 || fail.Sum != 90 || fail.BucketCounts[11] != 1 {
		t.Errorf("latency failure: %+v", fail)
	}
	neg := hp[dk(attrsOf(kvTenant("globex"), kvModel("gpt-4o-mini"), attribute.String(AttrOutcome, "failure")))]
	if neg.Count != 1 || neg.Sum != 0 {
		t.Errorf("negative duration recorded as %+v", neg)
	}
}

func TestRecordOtherInstruments(t *testing.T) {
	r, reader := newTestRecorder(t)
	ctx := context.Background()
	r.RecordToolOutcome(ctx, "acme", "web_search", ToolSuccess)
	r.RecordToolOutcome(ctx, "acme", "web_search", ToolSuccess)
	r.RecordToolOutcome(ctx, "acme", "web_search", ToolFallback)
	r.RecordToolOutcome(ctx, "acme", "calculator", ToolFailure)
	r.RecordToolOutcome(ctx, "acme", "calculator", ToolStatus(0))
	r.RecordRepair(ctx, "calculator", 1, RepairLocal, "repaired")
	r.RecordRepair(ctx, "calculator", 2, RepairModel, "invalid")
	r.RecordRepair(ctx, "calculator", 2, RepairModel, "invalid")
	r.RecordRepair(ctx, "calculator", 57, RepairModel, "error")
	r.RecordDownshift(ctx, "acme", "gpt-4o", "gpt-4o-mini")
	r.RecordBudgetBreach(ctx, "acme", BreachDownshift)
	r.RecordBudgetBreach(ctx, "acme", BreachBlock)
	r.RecordBudgetBreach(ctx, "acme", BreachBlock)
	r.RecordChaosInjected(ctx, "outage", "tool:web_search")
	r.RecordChaosInjected(ctx, "latency", "model")
	r.RecordUnaccounted(ctx, "openai", "gpt-4o", UnaccountedNoUsage)
	r.RecordUnaccounted(ctx, "openai", "gpt-4o", UnaccountedNoUsage)
	r.RecordUnaccounted(ctx, "openai", "ft:custom", UnaccountedUnknownModel)
	r.RecordUnaccounted(ctx, "", "gpt-4o", UnaccountedReason(0))

	ms := collect(t, reader)
	tool := func(tool, status string) attribute.Set {
		return attrsOf(kvTenant("acme"), attribute.String(AttrTool, tool), attribute.String(AttrStatus, status))
	}
	wantInt(t, ms, MetricToolSuccess, "{call}", map[attribute.Set]int64{
		tool("web_search", "success"): 2, tool("web_search", "fallback"): 1,
		tool("calculator", "failure"): 1, tool("calculator", "_other"): 1,
	})
	repair := func(attempt int, kind, outcome string) attribute.Set {
		return attrsOf(attribute.String(AttrTool, "calculator"), attribute.Int(AttrAttempt, attempt),
			attribute.String(AttrKind, kind), attribute.String(AttrOutcome, outcome))
	}
	wantInt(t, ms, MetricRepairRetry, "{attempt}", map[attribute.Set]int64{
		repair(1, "local", "repaired"): 1, repair(2, "model", "invalid"): 2, repair(10, "model", "error"): 1,
	})
	wantInt(t, ms, MetricModelDownshift, "{request}", map[attribute.Set]int64{
		attrsOf(kvTenant("acme"), attribute.String(AttrFromModel, "gpt-4o"), attribute.String(AttrToModel, "gpt-4o-mini")): 1,
	})
	wantInt(t, ms, MetricBudgetBreach, "{breach}", map[attribute.Set]int64{
		attrsOf(kvTenant("acme"), attribute.String(AttrDecision, "downshift")): 1,
		attrsOf(kvTenant("acme"), attribute.String(AttrDecision, "block")):     2,
	})
	wantInt(t, ms, MetricChaosInjected, "{fault}", map[attribute.Set]int64{
		attrsOf(attribute.String(AttrMode, "outage"), attribute.String(AttrTarget, "tool:web_search")): 1,
		attrsOf(attribute.String(AttrMode, "latency"), attribute.String(AttrTarget, "model")):          1,
	})
	unacc := func(reason, provider, model string) attribute.Set {
		return attrsOf(attribute.String(AttrReason, reason), attribute.String(AttrGenAIProviderName, provider),
			attribute.String(AttrGenAIRequestModel, model))
	}
	wantInt(t, ms, MetricUnaccounted, "{response}", map[attribute.Set]int64{
		unacc("no_usage", "openai", "gpt-4o"):         2,
		unacc("unknown_model", "openai", "ft:custom"): 1,
		unacc("_other", "unknown", "gpt-4o"):          1,
	})
}

func TestRecordModelCall(t *testing.T) {
	r, reader := newTestRecorder(t)
	ctx := context.Background()
	r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
		Usage: Usage{InputTokens: 1000, CachedInputTokens: 200, OutputTokens: 50}, Duration: 700 * time.Millisecond})
	r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
		Usage: Usage{InputTokens: 3, OutputTokens: 5000}, Duration: 2 * time.Second})
	r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", ErrorType: "429", Duration: 50 * time.Millisecond})
	r.RecordModelCall(ctx, ModelCall{Operation: "embeddings", Provider: "azure.ai.openai", RequestModel: "text-embedding-3-small",
		Usage: Usage{InputTokens: 20}, Duration: 10 * time.Millisecond})

	ms := collect(t, reader)
	base := []attribute.KeyValue{
		attribute.String(AttrGenAIOperationName, "chat"), attribute.String(AttrGenAIProviderName, "openai"),
		attribute.String(AttrGenAIRequestModel, "gpt-4o"),
	}
	withResp := append(slices.Clone(base), attribute.String(AttrGenAIResponseModel, "gpt-4o-2024-08-06"))
	set := func(kvs []attribute.KeyValue, more ...attribute.KeyValue) attribute.Set {
		return attrsOf(append(slices.Clone(kvs), more...)...)
	}
	emb := []attribute.KeyValue{
		attribute.String(AttrGenAIOperationName, "embeddings"), attribute.String(AttrGenAIProviderName, "azure.ai.openai"),
		attribute.String(AttrGenAIRequestModel, "text-embedding-3-small"),
	}

	tok := ms[MetricGenAITokenUsage]
	if tok.Unit != "{token}" {
		t.Errorf("token unit %q", tok.Unit)
	}
	tp := histPoints[int64](t, tok)
	if len(tp) != 4 {
		t.Errorf("token series %d, want 4 (the failed call without usage records none)", len(tp))
	}
	in := tp[dk(set(withResp, attribute.String(AttrGenAITokenType, "input")))]
	if in.Count != 2 || in.Sum != 1003 || !slices.Equal(in.Bounds, GenAITokenUsageBuckets()) {
		t.Errorf("input tokens %+v", in)
	}
	out := tp[dk(set(withResp, attribute.String(AttrGenAITokenType, "output")))]
	if out.Count != 2 || out.Sum != 5050 {
		t.Errorf("output tokens %+v", out)
	}
	// 50 falls in (16, 64], 5000 in (4096, 16384].
	if out.BucketCounts[3] != 1 || out.BucketCounts[7] != 1 {
		t.Errorf("output buckets %v", out.BucketCounts)
	}
	if e := tp[dk(set(emb, attribute.String(AttrGenAITokenType, "input")))]; e.Count != 1 || e.Sum != 20 {
		t.Errorf("embedding input tokens %+v", e)
	}

	dur := ms[MetricGenAIOperationDuration]
	if dur.Unit != "s" {
		t.Errorf("duration unit %q", dur.Unit)
	}
	dp := histPoints[float64](t, dur)
	if len(dp) != 3 {
		t.Errorf("duration series %d, want 3", len(dp))
	}
	okd := dp[dk(set(withResp))]
	if okd.Count != 2 || okd.Sum != 2.7 || !slices.Equal(okd.Bounds, GenAIDurationBuckets()) {
		t.Errorf("duration %+v", okd)
	}
	errd := dp[dk(set(base, attribute.String(AttrErrorType, "429")))]
	if errd.Count != 1 || errd.Sum != 0.05 {
		t.Errorf("error duration %+v", errd)
	}
	if e := dp[dk(set(emb))]; e.Count != 1 {
		t.Errorf("embedding duration %+v", e)
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	ctx := context.Background()
	r.RecordTask(ctx, Task{Success: true})
	r.RecordModelCall(ctx, ModelCall{})
	r.RecordToolOutcome(ctx, "a", "b", ToolSuccess)
	r.RecordRepair(ctx, "b", 1, RepairLocal, "x")
	r.RecordDownshift(ctx, "a", "b", "c")
	r.RecordBudgetBreach(ctx, "a", BreachBlock)
	r.RecordChaosInjected(ctx, "outage", "model")
	r.RecordUnaccounted(ctx, "openai", "gpt-4o", UnaccountedNoUsage)
	if r.RateCard() != nil {
		t.Fatal("nil recorder has a rate card")
	}
}

func TestNewValidates(t *testing.T) {
	for _, n := range []int{0, -1, maxAttributeValuesLimit + 1} {
		if _, err := New(WithMaxAttributeValues(n)); err == nil {
			t.Errorf("WithMaxAttributeValues(%d): no error", n)
		}
	}
	r, err := New() // global (no-op) MeterProvider, default card
	if err != nil {
		t.Fatal(err)
	}
	if r.RateCard().Version() != "builtin-2026-11-01" {
		t.Errorf("default card version %q", r.RateCard().Version())
	}
	r.RecordTask(context.Background(), Task{Success: true})
}

func TestCardinalityCap(t *testing.T) {
	const max = 3
	r, reader := newTestRecorder(t, WithMaxAttributeValues(max))
	ctx := context.Background()
	long := string(make([]byte, MaxAttributeValueLen+1))
	for i := range 10 {
		r.RecordTask(ctx, Task{Tenant: fmt.Sprintf("t%d", i), Model: "gpt-4o", Success: true})
		r.RecordToolOutcome(ctx, fmt.Sprintf("t%d", 9-i), fmt.Sprintf("tool%d", i), ToolSuccess)
	}
	r.RecordTask(ctx, Task{Tenant: "t0", Model: long, Success: true})
	r.RecordTask(ctx, Task{Tenant: OtherValue, Model: "gpt-4o", Success: true})

	ms := collect(t, reader)
	wantInt(t, ms, MetricTaskSuccess, "{task}", map[attribute.Set]int64{
		attrsOf(kvTenant("t0"), kvModel("gpt-4o")):       1,
		attrsOf(kvTenant("t1"), kvModel("gpt-4o")):       1,
		attrsOf(kvTenant("t2"), kvModel("gpt-4o")):       1,
		attrsOf(kvTenant(OtherValue), kvModel("gpt-4o")): 8, // t3..t9 and the literal "_other"
		attrsOf(kvTenant("t0"), kvModel(OtherValue)):     1, // too long
	})
	// The tool instrument has limiters of its own: its first tenants are t9, t8, t7.
	tool := func(tenant, tool string) attribute.Set {
		return attrsOf(kvTenant(tenant), attribute.String(AttrTool, tool), attribute.String(AttrStatus, "success"))
	}
	wantInt(t, ms, MetricToolSuccess, "{call}", map[attribute.Set]int64{
		tool("t9", "tool0"): 1, tool("t8", "tool1"): 1, tool("t7", "tool2"): 1,
		tool(OtherValue, OtherValue): 7,
	})
	if got := r.taskTenant.size(); got != max {
		t.Errorf("tenant limiter holds %d values, want %d", got, max)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r, reader := newTestRecorder(t, WithMaxAttributeValues(8))
	ctx := context.Background()
	const goroutines, perG = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				tenant := fmt.Sprintf("t%d", (g+i)%16) // 16 tenants over a cap of 8
				r.RecordTask(ctx, Task{Tenant: tenant, Model: "gpt-4o", Success: i%4 != 0, FailureReason: "timeout",
					Duration: time.Duration(i) * time.Millisecond, Usage: Usage{InputTokens: 10, OutputTokens: 2}, CostMicroUSD: 3})
				r.RecordToolOutcome(ctx, tenant, "search", ToolStatus(i%3+1))
				r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", Usage: Usage{InputTokens: 10, OutputTokens: 2}})
			}
		})
	}
	wg.Wait()
	ms := collect(t, reader)
	total := func(name string) (n int64, series int) {
		for _, dp := range intSum(t, ms[name]) {
			n += dp.Value
			series++
		}
		return n, series
	}
	const n = goroutines * perG
	if got, series := total(MetricTaskSuccess); got != n*3/4 || series > 9 {
		t.Errorf("success = %d over %d series, want %d over at most 9", got, series, n*3/4)
	}
	if got, _ := total(MetricTaskFailure); got != n/4 {
		t.Errorf("failure = %d, want %d", got, n/4)
	}
	if got, _ := total(MetricTokensIn); got != 10*n {
		t.Errorf("tokens in = %d, want %d", got, 10*n)
	}
	if got, _ := total(MetricToolSuccess); got != n {
		t.Errorf("tool outcomes = %d, want %d", got, n)
	}
	var cost float64
	for _, dp := range floatSum(t, ms[MetricCostUSD]) {
		cost += dp.Value
	}
	if math.Abs(cost-float64(3*n)/1e6) > 1e-9 {
		t.Errorf("cost = %v, want %v", cost, float64(3*n)/1e6)
	}
	var calls uint64
	for _, dp := range histPoints[float64](t, ms[MetricGenAIOperationDuration]) {
		calls += dp.Count
	}
	if calls != n {
		t.Errorf("model calls = %d, want %d", calls, n)
	}
}

func TestRecordTaskDoesNotAllocate(t *testing.T) {
	r, _ := newTestRecorder(t)
	ctx := context.Background()
	task := Task{Tenant: "acme", Model: "gpt-4o", Duration: time.Second, Success: true,
		Usage: Usage{InputTokens: 100, OutputTokens: 10}, CostMicroUSD: 350}
	r.RecordTask(ctx, task)
	if n := testing.AllocsPerRun(1000, func() { r.RecordTask(ctx, task) }); n != 0 {
		t.Errorf("RecordTask allocates %v times per call, want 0", n)
	}
	fail := task
	fail.Success, fail.FailureReason = false, "timeout"
	r.RecordTask(ctx, fail)
	if n := testing.AllocsPerRun(1000, func() { r.RecordTask(ctx, fail) }); n != 0 {
		t.Errorf("failed RecordTask allocates %v times per call, want 0", n)
	}
}

func TestRecordMethodsDoNotAllocate(t *testing.T) {
	r, _ := newTestRecorder(t)
	ctx := context.Background()
	calls := map[string]func(){
		"ModelCall": func() {
			r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
				Usage: Usage{InputTokens: 10, OutputTokens: 5}, Duration: time.Second})
		},
		"ModelCallError": func() {
			r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: "gpt-4o", ErrorType: "429"})
		},
		"ToolOutcome":   func() { r.RecordToolOutcome(ctx, "acme", "search", ToolFallback) },
		"Repair":        func() { r.RecordRepair(ctx, "search", 2, RepairModel, "repaired") },
		"Downshift":     func() { r.RecordDownshift(ctx, "acme", "gpt-4o", "gpt-4o-mini") },
		"BudgetBreach":  func() { r.RecordBudgetBreach(ctx, "acme", BreachBlock) },
		"ChaosInjected": func() { r.RecordChaosInjected(ctx, "outage", "model") },
		"Unaccounted":   func() { r.RecordUnaccounted(ctx, "openai", "gpt-4o", UnaccountedUnknownModel) },
	}
	for name, f := range calls {
		t.Run(name, func(t *testing.T) {
			f()
			if n := testing.AllocsPerRun(200, f); n != 0 {
				t.Errorf("allocates %v times per call, want 0", n)
			}
		})
	}
}

func TestCardinalityCapGenAI(t *testing.T) {
	r, reader := newTestRecorder(t, WithMaxAttributeValues(2))
	ctx := context.Background()
	for i := range 5 {
		for range 2 { // the second round goes through the cached path
			r.RecordModelCall(ctx, ModelCall{Provider: "openai", RequestModel: fmt.Sprintf("m%d", i), Duration: time.Second,
				ErrorType: fmt.Sprintf("e%d", i)})
		}
	}
	dp := histPoints[float64](t, collect(t, reader)[MetricGenAIOperationDuration])
	want := map[attribute.Distinct]uint64{}
	add := func(model, errType string, n uint64) {
		want[dk(attrsOf(attribute.String(AttrGenAIOperationName, "chat"), attribute.String(AttrGenAIProviderName, "openai"),
			attribute.String(AttrGenAIRequestModel, model), attribute.String(AttrErrorType, errType)))] = n
	}
	add("m0", "e0", 2)
	add("m1", "e1", 2)
	add(OtherValue, OtherValue, 6)
	if len(dp) != len(want) {
		t.Fatalf("%d series, want %d", len(dp), len(want))
	}
	for k, n := range want {
		if dp[k].Count != n {
			t.Errorf("series %v: count %d, want %d", k, dp[k].Count, n)
		}
	}
}
