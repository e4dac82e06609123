package fallback_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/llmops-go/llmops/fallback"
)

type nestedFixture struct {
	rec                     *recorder
	search, snapshot, other *tool
	inner, outer            *fallback.Chain[string, string]
}

// newNested builds outer = [web: inner=[search, snapshot], static] or, with
// nestedLast, outer = [static, web], sharing one recorder.
func newNested(t *testing.T, nestedLast bool, search, snapshot, static func(context.Context, string) (string, error)) *nestedFixture {
	t.Helper()
	f := &nestedFixture{rec: &recorder{}, search: newTool(search), snapshot: newTool(snapshot), other: newTool(static)}
	var err error
	f.inner, err = fallback.New("web", []fallback.Step[string, string]{
		fallback.NewStep("search", f.search.call),
		fallback.NewStep("snapshot", f.snapshot.call),
	}, fallback.WithObserver(f.rec))
	if err != nil {
		t.Fatal(err)
	}
	steps := []fallback.Step[string, string]{fallback.Nested("web", f.inner), fallback.NewStep("static", f.other.call)}
	if nestedLast {
		slices.Reverse(steps)
	}
	f.outer, err = fallback.New("answer", steps, fallback.WithObserver(f.rec))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNestedChains(t *testing.T) {
	down := fallback.ErrUnavailable
	const (
		ok   = fallback.StatusSuccess
		fb   = fallback.StatusFallback
		fail = fallback.StatusFailure
	)
	tests := []struct {
		name                     string
		nestedLast               bool
		search, snapshot, static func(context.Context, string) (string, error)
		want                     fallback.Result[string]
		wantErrIs                []error
		wantOutcomes             []outcome
	}{
		{
			name:   "inner primary serves",
			search: serves("fresh"), snapshot: serves("cached"), static: serves("kb"),
			want:         fallback.Result[string]{Value: "fresh", Step: "search", Index: 0, Tried: 1, Calls: 1},
			wantOutcomes: []outcome{{"search", ok, fallback.ReasonServed}},
		},
		{
			name:   "inner fallback serves",
			search: fails(down), snapshot: serves("cached"), static: serves("kb"),
			want: fallback.Result[string]{Value: "cached", Step: "snapshot", Index: 0, Tried: 1, Calls: 2, Fallback: true},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "inner exhausted: outer moves on, inner's last step reports fallback",
			search: fails(down), snapshot: fails(chaosFault{}), static: serves("kb"),
			want: fallback.Result[string]{Value: "kb", Step: "static", Index: 1, Tried: 2, Calls: 3, Fallback: true},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fb, fallback.ReasonUnavailable},
				{"static", ok, fallback.ReasonServed},
			},
		},
		{
			name:   "everything fails: one failure, every cause",
			search: fails(down), snapshot: fails(chaosFault{}), static: fails(down),
			wantErrIs: []error{fallback.ErrNoToolAvailable, fallback.ErrUnavailable, chaosFault{}},
			wantOutcomes: []outcome{
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fb, fallback.ReasonUnavailable},
				{"static", fail, fallback.ReasonUnavailable},
			},
		},
		{
			name:       "nested last: its last step reports failure",
			nestedLast: true,
			search:     fails(down), snapshot: fails(down), static: fails(down),
			wantErrIs: []error{fallback.ErrNoToolAvailable},
			wantOutcomes: []outcome{
				{"static", fb, fallback.ReasonUnavailable},
				{"search", fb, fallback.ReasonUnavailable},
				{"snapshot", fail, fallback.ReasonUnavailable},
			},
		},
		{
			name:   "inner non-fallthrough error stops everything",
			search: fails(errBadInput), snapshot: serves("cached"), static: serves("kb"),
			wantErrIs:    []error{errBadInput},
			wantOutcomes: []outcome{{"search", fail, fallback.ReasonError}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNested(t, tt.nestedLast, tt.search, tt.snapshot, tt.static)
			r, err := f.outer.Do(context.Background(), "q")
			if tt.wantErrIs == nil {
				if err != nil || r != tt.want {
					t.Fatalf("Do = %+v, %v; want %+v", r, err, tt.want)
				}
			}
			for _, target := range tt.wantErrIs {
				if !errors.Is(err, target) {
					t.Errorf("error %v does not match %v", err, target)
				}
			}
			if got := outcomes(f.rec.toolEvents()); !slices.Equal(got, tt.wantOutcomes) {
				t.Errorf("outcomes = %v\nwant %v", got, tt.wantOutcomes)
			}
			if int64(r.Calls) != f.search.calls.Load()+f.snapshot.calls.Load()+f.other.calls.Load() {
				t.Errorf("Result.Calls = %d", r.Calls)
			}
			// A nested step has no breaker of its own.
			if st := f.outer.States(); len(st) != 1 || st[0].Tool != "static" {
				t.Errorf("outer States = %v", st)
			}
			if _, ok := f.outer.State("web"); ok {
				t.Error("State of a nested step reported ok")
			}
		})
	}
}

func TestAttemptBudget(t *testing.T) {
	down := fallback.ErrUnavailable

	t.Run("spent across nested chains", func(t *testing.T) {
		f := newNested(t, false, fails(down), fails(down), serves("kb"))
		ctx := fallback.WithAttemptBudget(context.Background(), 2)
		r, err := f.outer.Do(ctx, "q")
		if !errors.Is(err, fallback.ErrAttemptBudgetExhausted) || !errors.Is(err, fallback.ErrNoToolAvailable) {
			t.Fatalf("err = %v", err)
		}
		if r.Calls != 2 || f.other.calls.Load() != 0 {
			t.Fatalf("result %+v, static calls %d", r, f.other.calls.Load())
		}
		want := []outcome{
			{"search", fallback.StatusFallback, fallback.ReasonUnavailable},
			{"snapshot", fallback.StatusFallback, fallback.ReasonUnavailable},
			{"static", fallback.StatusFailure, fallback.ReasonBudget},
		}
		if got := outcomes(f.rec.toolEvents()); !slices.Equal(got, want) {
			t.Errorf("outcomes = %v", got)
		}
		if n, ok := fallback.AttemptsLeft(ctx); !ok || n != 0 {
			t.Errorf("AttemptsLeft = %d, %v", n, ok)
		}
	})

	t.Run("spent inside the nested chain stops the outer one", func(t *testing.T) {
		f := newNested(t, false, fails(down), serves("cached"), serves("kb"))
		ctx := fallback.WithAttemptBudget(context.Background(), 1)
		_, err := f.outer.Do(ctx, "q")
		if !errors.Is(err, fallback.ErrAttemptBudgetExhausted) {
			t.Fatalf("err = %v", err)
		}
		if f.snapshot.calls.Load() != 0 || f.other.calls.Load() != 0 {
			t.Fatalf("calls after the budget: snapshot %d static %d", f.snapshot.calls.Load(), f.other.calls.Load())
		}
		want := []outcome{
			{"search", fallback.StatusFallback, fallback.ReasonUnavailable},
			{"snapshot", fallback.StatusFailure, fallback.ReasonBudget},
		}
		if got := outcomes(f.rec.toolEvents()); !slices.Equal(got, want) {
			t.Errorf("outcomes = %v", got)
		}
	})

	t.Run("breaker rejections cost nothing", func(t *testing.T) {
		search := newTool(fails(down))
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("search", search.call, fallback.WithFailureThreshold(1)),
			fallback.NewStep("static", serves("kb")),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do(context.Background(), "q"); err != nil { // opens search
			t.Fatal(err)
		}
		ctx := fallback.WithAttemptBudget(context.Background(), 1)
		r, err := c.Do(ctx, "q")
		if err != nil || r.Step != "static" || search.calls.Load() != 1 {
			t.Fatalf("Do = %+v, %v; search calls %d", r, err, search.calls.Load())
		}
	})

	t.Run("a budget inside a budget draws from both", func(t *testing.T) {
		outer := fallback.WithAttemptBudget(context.Background(), 3)
		inner := fallback.WithAttemptBudget(outer, 10)
		c, err := fallback.New("c", []fallback.Step[string, string]{fallback.NewStep("a", serves("a"))})
		if err != nil {
			t.Fatal(err)
		}
		served := 0
		for range 5 {
			if _, err := c.Do(inner, "q"); err == nil {
				served++
			} else if !errors.Is(err, fallback.ErrAttemptBudgetExhausted) {
				t.Fatal(err)
			}
		}
		if served != 3 {
			t.Fatalf("served %d calls, want 3", served)
		}
		if n, _ := fallback.AttemptsLeft(inner); n != 0 {
			t.Fatalf("AttemptsLeft(inner) = %d", n)
		}
		if n, _ := fallback.AttemptsLeft(fallback.WithAttemptBudget(context.Background(), -4)); n != 0 {
			t.Fatalf("negative budget left %d", n)
		}
		if _, ok := fallback.AttemptsLeft(context.Background()); ok {
			t.Fatal("AttemptsLeft reported a budget on a bare context")
		}
	})

	t.Run("exact under concurrency", func(t *testing.T) {
		var calls atomic.Int64
		c, err := fallback.New("c", []fallback.Step[string, string]{
			fallback.NewStep("a", func(context.Context, string) (string, error) { calls.Add(1); return "", down }),
			fallback.NewStep("b", func(context.Context, string) (string, error) { calls.Add(1); return "b", nil }),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := fallback.WithAttemptBudget(context.Background(), 101)
		var (
			wg              sync.WaitGroup
			served, refused atomic.Int64
		)
		for range 20 {
			wg.Go(func() {
				for range 20 {
					if _, err := c.Do(ctx, "q"); err == nil {
						served.Add(1)
					} else if errors.Is(err, fallback.ErrAttemptBudgetExhausted) {
						refused.Add(1)
					} else {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if calls.Load() != 101 || served.Load()+refused.Load() != 400 {
			t.Fatalf("calls %d, served %d, refused %d", calls.Load(), served.Load(), refused.Load())
		}
	})

	t.Run("a tool that runs a chain with the spent budget stops the caller", func(t *testing.T) {
		inner, err := fallback.New("inner", []fallback.Step[string, string]{fallback.NewStep("x", serves("x"))})
		if err != nil {
			t.Fatal(err)
		}
		static := newTool(serves("kb"))
		outer, err := fallback.New("outer", []fallback.Step[string, string]{
			fallback.NewStep("wrapper", inner.Call, fallback.WithFailureThreshold(1)),
			fallback.NewStep("static", static.call),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := fallback.WithAttemptBudget(context.Background(), 1) // spent by "wrapper" itself
		if _, err := outer.Do(ctx, "q"); !errors.Is(err, fallback.ErrAttemptBudgetExhausted) {
			t.Fatalf("err = %v", err)
		}
		if st, _ := outer.State("wrapper"); st != fallback.StateClosed || static.calls.Load() != 0 {
			t.Fatalf("wrapper breaker %v, static calls %d", st, static.calls.Load())
		}
	})
}
