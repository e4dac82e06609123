package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/examples/agent/internal/tools"
	"github.com/llmops-go/llmops/fallback"
)

type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) observer() fallback.Observer {
	return fallback.ObserverFuncs{OnToolOutcome: func(_ context.Context, ev fallback.ToolEvent) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.got = append(e.got, ev.Tool+"="+ev.Status.String())
	}}
}

func (e *events) take() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := strings.Join(e.got, ",")
	e.got = nil
	return s
}

func TestSchemasValidateExamples(t *testing.T) {
	reg, err := tools.Registry()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tool, args string
		valid      bool
	}{
		{tools.LookupFact, `{"topic":"paris"}`, true},
		{tools.LookupFact, `{"topic":""}`, false},
		{tools.ComputePrimes, `{"limit":100}`, true},
		{tools.ComputePrimes, `{"limit":"100"}`, false},
		{tools.ComputePrimes, `{"limit":1}`, false},
		{tools.WebSearch, `{"query":"go"}`, true},
		{tools.WebSearch, `{"query":"go","max_results":11}`, false},
		{tools.WebSearch, `{"query":"go","extra":1}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.tool+tt.args, func(t *testing.T) {
			if err := reg.Validate(tt.tool, []byte(tt.args)); (err == nil) != tt.valid {
				t.Errorf("valid=%v, err=%v", tt.valid, err)
			}
		})
	}
	if n := len(tools.Definitions()); n != 3 {
		t.Errorf("%d definitions", n)
	}
}

func TestCalls(t *testing.T) {
	var ev events
	set, err := tools.New(tools.WithObserver(ev.observer()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	outage := &chaos.OutageError{Target: "tool:web_search"}
	tests := []struct {
		name       string
		ctx        context.Context
		tool, args string
		step       string
		fallback   bool
		answer     string
		events     string
	}{
		{"primes", ctx, tools.ComputePrimes, `{"limit":1000}`, tools.ComputePrimes, false,
			"There are 168 primes up to 1000; the largest is 997.", "compute_primes=success"},
		{"fact", ctx, tools.LookupFact, `{"topic":"Paris"}`, tools.LookupFact, false,
			"Paris is the capital of France.", "lookup_fact=success"},
		{"unknown fact", ctx, tools.LookupFact, `{"topic":"atlantis"}`, tools.LookupFact, false,
			"No fact is recorded about atlantis.", "lookup_fact=success"},
		{"live search", ctx, tools.WebSearch, `{"query":"weather in Paris today"}`, tools.WebSearch, false,
			"Paris: 14 °C, light clouds, wind 10 km/h from the west (simulated). (from the web)", "web_search=success"},
		{"outage: snapshot of the earlier live search", tools.WithFault(ctx, outage), tools.WebSearch, `{"query":"Weather in Paris today?"}`,
			tools.StepSnapshot, true, "Paris: 14 °C, light clouds, wind 10 km/h from the west (simulated). (from a cached snapshot)",
			"web_search=fallback,cached_snapshot=success"},
		{"outage: static knowledge base", tools.WithFault(ctx, outage), tools.WebSearch, `{"query":"pi"}`,
			tools.StepStaticKB, true, "Pi is about 3.14159. (from the static knowledge base)",
			"web_search=fallback,cached_snapshot=fallback,static_kb=success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := set.Call(tt.ctx, tt.tool, []byte(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ Answer string }
			if err := json.Unmarshal(out.Result, &res); err != nil {
				t.Fatal(err)
			}
			if out.Step != tt.step || out.Fallback != tt.fallback || res.Answer != tt.answer {
				t.Errorf("got step %s fallback %v answer %q", out.Step, out.Fallback, res.Answer)
			}
			if got := ev.take(); got != tt.events {
				t.Errorf("events %s, want %s", got, tt.events)
			}
		})
	}
}

func TestOneStepToolFails(t *testing.T) {
	set, err := tools.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := tools.WithFault(context.Background(), &chaos.ThrottleError{Target: "tools", RetryAfter: time.Second})
	_, err = set.Call(ctx, tools.ComputePrimes, []byte(`{"limit":10}`))
	if !errors.Is(err, fallback.ErrNoToolAvailable) || !errors.Is(err, chaos.ErrThrottled) {
		t.Errorf("err %v", err)
	}
	if _, err := set.Call(context.Background(), "nope", []byte(`{}`)); !errors.Is(err, tools.ErrUnknownTool) {
		t.Errorf("err %v", err)
	}
}

func TestSearchTimeoutFallsBack(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_800_000_000, 0))
	set, err := tools.New(tools.WithClock(fake), tools.WithSearchLatency(5*time.Second), tools.WithSearchTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan tools.Outcome)
	go func() {
		out, err := set.Call(context.Background(), tools.WebSearch, []byte(`{"query":"redis lua"}`))
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	for fake.Timers() < 2 { // the step timeout and the search latency
		time.Sleep(time.Millisecond) // waiting for the goroutines to arm their timers
	}
	fake.Advance(time.Second)
	out := <-done
	if out.Step != tools.StepSnapshot || !out.Fallback {
		t.Errorf("served by %s", out.Step)
	}
	fake.Advance(5 * time.Second) // let the abandoned search end
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []tools.Option{tools.WithSearchLatency(-1), tools.WithSearchTimeout(time.Hour), tools.WithSnapshotSize(0)} {
		if _, err := tools.New(o); !errors.Is(err, tools.ErrInvalidConfig) {
			t.Errorf("err %v", err)
		}
	}
}
