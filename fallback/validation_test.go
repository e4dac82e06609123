package fallback_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmops-go/llmops/fallback"
)

func TestNewValidation(t *testing.T) {
	ok := serves("x")
	inner, err := fallback.New("inner", []fallback.Step[string, string]{fallback.NewStep("a", ok)})
	if err != nil {
		t.Fatal(err)
	}
	type steps = []fallback.Step[string, string]
	tests := []struct {
		name  string
		chain string
		steps steps
		opts  []fallback.Option
	}{
		{"empty chain", "c", nil, nil},
		{"empty chain name", "", steps{fallback.NewStep("a", ok)}, nil},
		{"duplicate names", "c", steps{fallback.NewStep("a", ok), fallback.NewStep("a", ok)}, nil},
		{"duplicate nested name", "c", steps{fallback.NewStep("a", ok), fallback.Nested("a", inner)}, nil},
		{"nil function", "c", steps{fallback.NewStep[string, string]("a", nil)}, nil},
		{"nil nested chain", "c", steps{fallback.Nested[string, string]("a", nil)}, nil},
		{"zero step", "c", steps{{}}, nil},
		{"empty step name", "c", steps{fallback.NewStep("", ok)}, nil},
		{"negative timeout", "c", steps{fallback.NewStep("a", ok, fallback.WithTimeout(-time.Second))}, nil},
		{"zero threshold", "c", steps{fallback.NewStep("a", ok, fallback.WithFailureThreshold(0))}, nil},
		{"zero open timeout", "c", steps{fallback.NewStep("a", ok, fallback.WithOpenTimeout(0))}, nil},
		{"zero probes", "c", steps{fallback.NewStep("a", ok, fallback.WithHalfOpenProbes(0))}, nil},
		{"huge probes", "c", steps{fallback.NewStep("a", ok, fallback.WithHalfOpenProbes(1<<30))}, nil},
		{"nil step option", "c", steps{fallback.NewStep("a", ok, nil)}, nil},
		{"nil chain option", "c", steps{fallback.NewStep("a", ok)}, []fallback.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := fallback.New(tt.chain, tt.steps, tt.opts...)
			if err == nil || c != nil {
				t.Fatalf("New = %v, %v; want an error", c, err)
			}
			if !errors.Is(err, fallback.ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
		})
	}
}

func TestNewValid(t *testing.T) {
	c, err := fallback.New("c", []fallback.Step[string, string]{
		fallback.NewStep("a", serves("a"), fallback.WithTimeout(time.Second), fallback.WithFailureThreshold(3),
			fallback.WithOpenTimeout(time.Minute), fallback.WithHalfOpenProbes(2)),
		fallback.NewStep("b", serves("b")),
	}, fallback.WithObserver(fallback.ObserverFuncs{}), fallback.WithClassifier(nil), fallback.WithClock(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "c" {
		t.Errorf("Name = %q", c.Name())
	}
	want := []fallback.StepState{{Tool: "a", State: fallback.StateClosed}, {Tool: "b", State: fallback.StateClosed}}
	got := c.States()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("States = %v", got)
	}
	if _, ok := c.State("nope"); ok {
		t.Error("State of an unknown step reported ok")
	}
	// An ObserverFuncs with nil fields ignores events.
	if r, err := c.Do(context.Background(), "q"); err != nil || r.Value != "a" {
		t.Errorf("Do = %+v, %v", r, err)
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{fallback.StatusSuccess.String(), "success"},
		{fallback.StatusFallback.String(), "fallback"},
		{fallback.StatusFailure.String(), "failure"},
		{fallback.Status(0).String(), "Status(0)"},
		{fallback.ReasonServed.String(), "served"},
		{fallback.ReasonUnavailable.String(), "unavailable"},
		{fallback.ReasonBreakerOpen.String(), "breaker_open"},
		{fallback.ReasonTimeout.String(), "timeout"},
		{fallback.ReasonError.String(), "error"},
		{fallback.ReasonCanceled.String(), "canceled"},
		{fallback.ReasonBudget.String(), "budget_exhausted"},
		{fallback.Reason(0).String(), "Reason(0)"},
		{fallback.StateClosed.String(), "closed"},
		{fallback.StateHalfOpen.String(), "half-open"},
		{fallback.StateOpen.String(), "open"},
		{fallback.State(0).String(), "State(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
