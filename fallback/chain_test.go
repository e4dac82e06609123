package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/llmops-go/llmops/clock"
	"github.com/llmops-go/llmops/fallback"
)

// httpStatusError stands for an HTTP tool's error, classified by the caller.
type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return fmt.Sprintf("http status %d", e.code) }

func retryableHTTP(err error) bool {
	var h *httpStatusError
	return errors.As(err, &h) && (h.code == 429 || h.code >= 500)
}

func TestChainClassification(t *testing.T) {
	unavailable := fmt.Errorf("search backend down: %w", fallback.ErrUnavailable)
	const (
		ok   = fallback.StatusSuccess
		fb   = fallback.StatusFallback
		fail = fallback.StatusFailure
	)
	tests := []struct {
		name              string
		search, snapshot  func(context.Context, string) (string, error)
		static            func(context.Context, string) (string, error)
		wantValue         string
		wantStep          string
		wantIndex         int
		wantFallback      bool
		wantErrIs         []error
		wantCalls         [3]int64
		wantOutcomes      []outcome
		wantExhaustedStep []string
	}{
		{
			name:   "primary serves",
			search: serves("fresh"), snapshot: serves("cached"), static: serves("kb"),
			wantValue: "fresh", wantStep: "search", wantIndex: 0,
			wantCalls:    [3]int64{1, 0, 0},
			wantOutcomes: []outcome{{"search", ok, fallback.ReasonServed}},
		},
		{
			name:   "wrapped ErrUnavailable falls through",
			search: fails(unavailable), snapshot: serves("cached"), static: serves("kb"),
			wantValue: "cached", wantStep: "snapshot", wantIndex: 1, wantFallback: true,
			wantCalls: [3]int64{1, 1, 0},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "chaos fault falls through",
			search: fails(fmt.Errorf("tool: %w", chaosFault{})), snapshot: serves("cached"), static: serves("kb"),
			wantValue: "cached", wantStep: "snapshot", wantIndex: 1, wantFallback: true,
			wantCalls: [3]int64{1, 1, 0},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "chaos fault inside a joined error falls through",
			search: fails(errors.Join(errBadInput, chaosFault{})), snapshot: serves("cached"), static: serves("kb"),
			wantValue: "cached", wantStep: "snapshot", wantIndex: 1, wantFallback: true,
			wantCalls: [3]int64{1, 1, 0},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "classifier: 503 falls through twice",
			search: fails(&httpStatusError{503}), snapshot: fails(&httpStatusError{429}), static: serves("kb"),
			wantValue: "kb", wantStep: "static", wantIndex: 2, wantFallback: true,
			wantCalls: [3]int64{1, 1, 1},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fb, fallback.ReasonUnavailable},
				{"static", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "a tool's own breaker rejection falls through",
			search: fails(fmt.Errorf("inner: %w", gobreaker.ErrOpenState)), snapshot: serves("cached"), static: serves("kb"),
			wantValue: "cached", wantStep: "snapshot", wantIndex: 1, wantFallback: true,
			wantCalls: [3]int64{1, 1, 0},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "non-fallthrough error stops at once",
			search: fails(errBadInput), snapshot: serves("cached"), static: serves("kb"),
			wantErrIs:    []error{errBadInput},
			wantCalls:    [3]int64{1, 0, 0},
			wantOutcomes: []outcome{{"search", fail, fallback.ReasonError}},
		},
		{
			name:   "classifier rejects 404: stops",
			search: fails(&httpStatusError{404}), snapshot: serves("cached"), static: serves("kb"),
			wantCalls:    [3]int64{1, 0, 0},
			wantOutcomes: []outcome{{"search", fail, fallback.ReasonError}},
		},
		{
			name:   "Unavailable() false stops",
			search: fails(notReally{}), snapshot: serves("cached"), static: serves("kb"),
			wantErrIs:    []error{notReally{}},
			wantCalls:    [3]int64{1, 0, 0},
			wantOutcomes: []outcome{{"search", fail, fallback.ReasonError}},
		},
		{
			name:   "second step stops the chain",
			search: fails(unavailable), snapshot: fails(errBadInput), static: serves("kb"),
			wantErrIs: []error{errBadInput},
			wantCalls: [3]int64{1, 1, 0},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fail, fallback.ReasonError},
			},
		},
		{
			name:   "all fail: typed error with every cause",
			search: fails(unavailable), snapshot: fails(chaosFault{}), static: fails(&httpStatusError{502}),
			wantErrIs: []error{fallback.ErrNoToolAvailable, fallback.ErrUnavailable, chaosFault{}},
			wantCalls: [3]int64{1, 1, 1},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fb, fallback.ReasonUnavailable},
				{"static", fail, fallback.ReasonUnavailable},
			},
			wantExhaustedStep: []string{"search", "snapshot", "static"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			tools := [3]*tool{newTool(tt.search), newTool(tt.snapshot), newTool(tt.static)}
			c, err := fallback.New("lookup", []fallback.Step[string, string]{
				fallback.NewStep("search", tools[0].call),
				fallback.NewStep("snapshot", tools[1].call),
				fallback.NewStep("static", tools[2].call),
			}, fallback.WithObserver(rec), fallback.WithClassifier(retryableHTTP))
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Do(context.Background(), "q")
			if tt.wantStep != "" {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if r.Value != tt.wantValue || r.Step != tt.wantStep || r.Index != tt.wantIndex ||
					r.Tried != tt.wantIndex+1 || r.Fallback != tt.wantFallback {
					t.Errorf("result = %+v", r)
				}
			} else if err == nil {
				t.Fatalf("Do served %+v, want an error", r)
			}
			for _, target := range tt.wantErrIs {
				if !errors.Is(err, target) {
					t.Errorf("error %v does not match %v", err, target)
				}
			}
			var calls [3]int64
			for i, tl := range tools {
				calls[i] = tl.calls.Load()
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %v, want %v", calls, tt.wantCalls)
			}
			if int64(r.Calls) != calls[0]+calls[1]+calls[2] {
				t.Errorf("Result.Calls = %d, calls %v", r.Calls, calls)
			}
			if got := outcomes(rec.toolEvents()); !slices.Equal(got, tt.wantOutcomes) {
				t.Errorf("outcomes = %v, want %v", got, tt.wantOutcomes)
			}
			var ex *fallback.ExhaustedError
			if tt.wantExhaustedStep != nil {
				if !errors.As(err, &ex) {
					t.Fatalf("error %T is not *ExhaustedError", err)
				}
				var names []string
				for _, s := range ex.Steps {
					names = append(names, s.Step)
				}
				if ex.Chain != "lookup" || !slices.Equal(names, tt.wantExhaustedStep) {
					t.Errorf("ExhaustedError = %+v", ex)
				}
				for _, s := range ex.Steps {
					if !errors.Is(err, s.Err) {
						t.Errorf("error does not match step %s's cause %v", s.Step, s.Err)
					}
				}
			} else if errors.As(err, &ex) || errors.Is(err, fallback.ErrNoToolAvailable) {
				t.Errorf("error %v should be the step's own error", err)
			}
		})
	}
}

func TestErrorReturnedAsItIs(t *testing.T) {
	want := &httpStatusError{400}
	c, err := fallback.New("c", []fallback.Step[string, string]{
		fallback.NewStep("a", fails(want)),
		fallback.NewStep("b", serves("b")),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, got := c.Do(context.Background(), "q")
	var h *httpStatusError
	if !errors.As(got, &h) || h != want {
		t.Fatalf("got %v (%T), want the step's own error", got, got)
	}
}

func TestExhaustedErrorMessage(t *testing.T) {
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", fails(fallback.ErrUnavailable)),
		fallback.NewStep("static", fails(chaosFault{})),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, got := c.Do(context.Background(), "q")
	want := "fallback: no tool available in chain lookup: search: fallback: tool unavailable; static: chaos: outage"
	if got == nil || got.Error() != want {
		t.Fatalf("error = %v\nwant    %s", got, want)
	}
}

func TestCallerCancellation(t *testing.T) {
	t.Run("during the primary: stops, not counted", func(t *testing.T) {
		rec := &recorder{}
		entered := make(chan struct{}, 1)
		search := newTool(func(ctx context.Context, _ string) (string, error) {
			entered <- struct{}{}
			<-ctx.Done()
			// A tool's error need not wrap the context's.
			return "", errors.New("read: connection closed")
		})
		snapshot := newTool(serves("cached"))
		c, err := fallback.New("lookup", []fallback.Step[string, string]{
			fallback.NewStep("search", search.call, fallback.WithFailureThreshold(1)),
			fallback.NewStep("snapshot", snapshot.call),
		}, fallback.WithObserver(rec))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-entered; cancel() }()
			_, err := c.Do(ctx, "q")
			if !errors.Is(err, context.Canceled) || errors.Is(err, fallback.ErrNoToolAvailable) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if st, _ := c.State("search"); st != fallback.StateClosed {
				t.Fatalf("breaker %v after a cancellation, want closed (threshold 1)", st)
			}
		}
		if snapshot.calls.Load() != 0 {
			t.Errorf("snapshot called %d times after cancellation", snapshot.calls.Load())
		}
		want := slices.Repeat([]outcome{{"search", fallback.StatusFailure, fallback.ReasonCanceled}}, 3)
		if got := outcomes(rec.toolEvents()); !slices.Equal(got, want) {
			t.Errorf("outcomes = %v", got)
		}
		if len(rec.breakerEvents()) != 0 {
			t.Errorf("breaker moved: %v", rec.breakerEvents())
		}
	})

	t.Run("already canceled: nothing called", func(t *testing.T) {
		search := newTool(serves("fresh"))
		c, err := fallback.New("lookup", []fallback.Step[string, string]{fallback.NewStep("search", search.call)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, err := c.Do(ctx, "q")
		if !errors.Is(err, context.Canceled) || search.calls.Load() != 0 || r.Calls != 0 {
			t.Fatalf("err = %v, calls = %d, result %+v", err, search.calls.Load(), r)
		}
	})

	t.Run("caller's deadline is not the step's timeout", func(t *testing.T) {
		// The step's timeout is on a fake clock that never moves; the
		// caller's own deadline (wall clock) is what ends the call.
		fake := clock.NewFake(time.Unix(1_700_000_000, 0))
		snapshot := newTool(serves("cached"))
		c, err := fallback.New("lookup", []fallback.Step[string, string]{
			fallback.NewStep("search", func(ctx context.Context, _ string) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			}, fallback.WithTimeout(time.Hour), fallback.WithFailureThreshold(1)),
			fallback.NewStep("snapshot", snapshot.call),
		}, fallback.WithClock(fake))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		_, err = c.Do(ctx, "q")
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fallback.ErrStepTimeout) {
			t.Fatalf("err = %v, want the caller's deadline", err)
		}
		if st, _ := c.State("search"); st != fallback.StateClosed || snapshot.calls.Load() != 0 {
			t.Fatalf("breaker %v, snapshot calls %d", st, snapshot.calls.Load())
		}
	})
}

func TestStepTimeout(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	rec := &recorder{}
	type seen struct {
		err, cause error
		deadline   time.Time
		ok         bool
	}
	got := make(chan seen, 1)
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", func(ctx context.Context, _ string) (string, error) {
			<-ctx.Done()
			d, ok := ctx.Deadline()
			got <- seen{ctx.Err(), context.Cause(ctx), d, ok}
			return "", ctx.Err()
		}, fallback.WithTimeout(2*time.Second)),
		fallback.NewStep("snapshot", serves("cached")),
	}, fallback.WithClock(fake), fallback.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var r fallback.Result[string]
	go func() {
		defer close(done)
		r, err = c.Do(context.Background(), "q")
	}()
	waitFor(t, "the step's timer", func() bool { return fake.Timers() == 1 })
	fake.Advance(2 * time.Second)
	<-done
	if err != nil || r.Step != "snapshot" {
		t.Fatalf("Do = %+v, %v", r, err)
	}
	s := <-got
	if !errors.Is(s.err, context.DeadlineExceeded) || !errors.Is(s.cause, fallback.ErrStepTimeout) ||
		!s.ok || !s.deadline.Equal(time.Unix(1_700_000_002, 0)) {
		t.Errorf("step saw %+v", s)
	}
	want := []outcome{
		{"search", fallback.StatusFallback, fallback.ReasonTimeout},
		{"snapshot", fallback.StatusSuccess, fallback.ReasonServed},
	}
	evs := rec.toolEvents()
	if !slices.Equal(outcomes(evs), want) || !errors.Is(evs[0].Err, fallback.ErrStepTimeout) {
		t.Errorf("events = %+v", evs)
	}
}

func TestStepWithTimeoutServes(t *testing.T) {
	c, err := fallback.New("lookup", []fallback.Step[string, string]{
		fallback.NewStep("search", func(ctx context.Context, q string) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				return "", errors.New("no deadline")
			}
			return "fresh:" + q, nil
		}, fallback.WithTimeout(time.Minute)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Call(context.Background(), "q"); err != nil || v != "fresh:q" {
		t.Fatalf("Call = %q, %v", v, err)
	}
}

func TestPanicPropagates(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprint("timeout=", timeout), func(t *testing.T) {
			c, err := fallback.New("c", []fallback.Step[string, string]{
				fallback.NewStep("boom", func(context.Context, string) (string, error) { panic("boom") },
					fallback.WithTimeout(timeout), fallback.WithFailureThreshold(1)),
				fallback.NewStep("b", serves("b")),
			})
			if err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Errorf("recovered %v, want boom", p)
					}
				}()
				_, _ = c.Do(context.Background(), "q")
			}()
			if st, _ := c.State("boom"); st != fallback.StateOpen {
				t.Errorf("breaker %v after a panic, want open (a panic counts as a failure)", st)
			}
		})
	}
}

func TestErrorTexts(t *testing.T) {
	ctx := context.Background()

	t.Run("breaker rejection", func(t *testing.T) {
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("a", fails(fallback.ErrUnavailable), fallback.WithFailureThreshold(1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Do(ctx, "q")
		_, err = c.Do(ctx, "q")
		want := "fallback: no tool available in chain c: a: fallback: circuit breaker open: circuit breaker is open"
		if err == nil || err.Error() != want {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("step timeout keeps the step's error", func(t *testing.T) {
		fake := clock.NewFake(time.Unix(1_700_000_000, 0))
		stepErr := errors.New("dial: i/o timeout")
		release := make(chan struct{})
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("a", func(ctx context.Context, _ string) (string, error) {
				<-release
				return "", stepErr
			}, fallback.WithTimeout(time.Second)),
		}, fallback.WithClock(fake))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := c.Do(ctx, "q"); done <- err }()
		waitFor(t, "the step's timer", func() bool { return fake.Timers() == 1 })
		fake.Advance(time.Second)
		err = <-done
		close(release)
		want := "fallback: no tool available in chain c: a: fallback: step timed out"
		if err == nil || err.Error() != want || !errors.Is(err, fallback.ErrStepTimeout) {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("cancellation joined to the step's error", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		stepErr := errors.New("read: connection reset")
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("a", func(context.Context, string) (string, error) { cancel(); return "", stepErr }),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(cctx, "q")
		if err == nil || err.Error() != "context canceled: read: connection reset" ||
			!errors.Is(err, context.Canceled) || !errors.Is(err, stepErr) {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("step deadline is the earlier of caller's and step's", func(t *testing.T) {
		// The fake clock is far ahead, so the step's own deadline is later
		// than the caller's.
		fake := clock.NewFake(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
		callerDeadline := time.Now().Add(time.Hour)
		cctx, cancel := context.WithDeadline(ctx, callerDeadline)
		defer cancel()
		var got time.Time
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("a", func(ctx context.Context, _ string) (string, error) {
				got, _ = ctx.Deadline()
				return "x", nil
			}, fallback.WithTimeout(time.Second)),
		}, fallback.WithClock(fake))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Do(cctx, "q")
		if !got.Equal(callerDeadline) {
			t.Fatalf("deadline %v, want the caller's %v", got, callerDeadline)
		}
	})
}
