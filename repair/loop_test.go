package repair

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmops-go/llmops/clock"
)

const weatherSchema = `{
  "type": "object",
  "properties": {
    "city": {"type": "string", "minLength": 1},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "units": {"type": "string", "enum": ["metric", "imperial"]}
  },
  "required": ["city", "days"],
  "additionalProperties": false
}`

// reply is one scripted model answer.
type reply struct {
	text  string
	usage Usage
	err   error
	// block makes the call wait for ctx to be done (after signalling
	// started), then return ctx's error with usage.
	block bool
}

// scriptedModel is a Model double answering from a script, in order.
type scriptedModel struct {
	mu      sync.Mutex
	script  []reply
	calls   [][]Message
	started chan struct{}
}

func (m *scriptedModel) Complete(ctx context.Context, msgs []Message) (Completion, error) {
	m.mu.Lock()
	i := len(m.calls)
	m.calls = append(m.calls, msgs)
	m.mu.Unlock()
	if i >= len(m.script) {
		return Completion{}, fmt.Errorf("scripted model: unexpected call %d", i+1)
	}
	r := m.script[i]
	if r.block {
		if m.started != nil {
			close(m.started)
		}
		<-ctx.Done()
		return Completion{Model: "m-small", Usage: r.usage}, ctx.Err()
	}
	return Completion{Text: r.text, Model: "m-small", Usage: r.usage}, r.err
}

func (m *scriptedModel) numCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu       sync.Mutex
	calls    []ModelCallEvent
	attempts []AttemptEvent
}

func (r *recorder) ModelCall(_ context.Context, e ModelCallEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, e)
}

func (r *recorder) Attempt(_ context.Context, e AttemptEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, e)
}

func (r *recorder) attemptsString() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	parts := make([]string, len(r.attempts))
	for i, a := range r.attempts {
		parts[i] = fmt.Sprintf("%s#%d:%s:%s", a.Tool, a.Attempt, a.Kind, a.Outcome)
	}
	return strings.Join(parts, " ")
}

func (r *recorder) usage() (in, out int64, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		in += c.Usage.InputTokens
		out += c.Usage.OutputTokens
	}
	return in, out, len(r.calls)
}

func newWeatherLoop(t *testing.T, model Model, opts ...Option) (*Loop, *recorder) {
	t.Helper()
	reg := mustRegistry(t)
	if err := reg.Register("get_weather", []byte(weatherSchema)); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	all := []Option{WithObserver(rec)}
	if model != nil {
		mr, err := NewModelRepairer(model)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, WithRepairer(mr))
	}
	l, err := New(reg, append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l, rec
}

// echo is a tool that returns its arguments.
func echo(_ context.Context, args []byte) (string, error) { return string(args), nil }

var u = Usage{InputTokens: 100, OutputTokens: 10}

func TestDo(t *testing.T) {
	const valid = `{"city":"Paris","days":3}`
	tests := []struct {
		name     string
		args     string
		script   []reply
		opts     []Option
		want     string     // result when repaired
		reason   StopReason // when not repaired
		attempts string
		calls    int
	}{
		{
			name: "valid first time", args: valid, want: valid,
		},
		{
			name: "local fix only", args: "```json\n" + valid + "\n```", want: valid,
			attempts: "get_weather#0:local:repaired",
		},
		{
			name: "repaired at attempt 1", args: `{"city":"Paris","days":"3"}`,
			script: []reply{{text: valid, usage: u}}, want: valid,
			attempts: "get_weather#1:model:repaired", calls: 1,
		},
		{
			name: "fenced model reply", args: `{"city":"Paris","days":"3"}`,
			script: []reply{{text: "Here you go:\n```json\n" + valid + "\n```", usage: u}}, want: valid,
			attempts: "get_weather#1:model:repaired", calls: 1,
		},
		{
			name: "local then model", args: "```json\n{\"city\":\"Paris\",\"days\":\"3\"}\n```",
			script: []reply{{text: valid, usage: u}}, want: valid,
			attempts: "get_weather#0:local:invalid get_weather#1:model:repaired", calls: 1,
		},
		{
			name: "repaired at attempt 2", args: `{"city":"Paris","days":"3"}`,
			script: []reply{{text: `{"city":"Paris","days":3.5}`, usage: u}, {text: valid, usage: u}}, want: valid,
			attempts: "get_weather#1:model:invalid get_weather#2:model:repaired", calls: 2,
		},
		{
			name: "exhausted", args: `{"city":"Paris","days":"3"}`,
			script:   []reply{{text: `{"city":"Paris","days":3.5}`, usage: u}, {text: `{"city":"Paris","days":99}`, usage: u}},
			reason:   StopExhausted,
			attempts: "get_weather#1:model:invalid get_weather#2:model:invalid", calls: 2,
		},
		{
			name: "same error stops early", args: `{"city":"Paris","days":"3"}`,
			script:   []reply{{text: `{"city":"Paris","days":"three"}`, usage: u}},
			opts:     []Option{WithMaxAttempts(5)},
			reason:   StopRepeated,
			attempts: "get_weather#1:model:invalid", calls: 1,
		},
		{
			name: "prose without json, then exhausted", args: `{"city":"Paris"}`,
			script:   []reply{{text: "I am not sure.", usage: u}, {text: `{"city":"Paris","days":0}`, usage: u}},
			reason:   StopExhausted,
			attempts: "get_weather#1:model:invalid get_weather#2:model:invalid", calls: 2,
		},
		{
			name: "empty model output", args: `{"city":"Paris"}`,
			script:   []reply{{text: "", usage: u}, {text: "", usage: u}},
			opts:     []Option{WithMaxAttempts(3)},
			reason:   StopRepeated,
			attempts: "get_weather#1:model:invalid get_weather#2:model:invalid", calls: 2,
		},
		{
			name: "huge model output", args: `{"city":"Paris"}`,
			script:   []reply{{text: `{"city":"` + strings.Repeat("x", DefaultMaxArgsBytes) + `","days":1}`, usage: u}},
			reason:   StopTooLarge,
			attempts: "get_weather#1:model:invalid", calls: 1,
		},
		{
			name: "huge input is not sent to a model", args: `{"city":"` + strings.Repeat("x", DefaultMaxArgsBytes) + `"}`,
			reason: StopTooLarge,
		},
		{
			name: "model error", args: `{"city":"Paris"}`,
			script:   []reply{{err: errors.New("upstream 500"), usage: Usage{InputTokens: 100}}},
			reason:   StopRepairerFailed,
			attempts: "get_weather#1:model:error", calls: 1,
		},
		{
			name: "two objects are ambiguous, model decides", args: `{"city":"Paris","days":3} {"city":"Lyon","days":2}`,
			script: []reply{{text: valid, usage: u}}, want: valid,
			attempts: "get_weather#1:model:repaired", calls: 1,
		},
		{
			name: "no attempts allowed", args: `{"city":"Paris"}`, opts: []Option{WithMaxAttempts(0)},
			reason: StopNoRepairer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &scriptedModel{script: tt.script}
			l, rec := newWeatherLoop(t, m, tt.opts...)
			got, err := Do(context.Background(), l, "get_weather", []byte(tt.args), echo)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Do = %q, %v; want %q", got, err, tt.want)
				}
			} else {
				var nr *NotRepairedError
				if !errors.As(err, &nr) || !errors.Is(err, ErrNotRepaired) {
					t.Fatalf("Do = %q, %v; want *NotRepairedError", got, err)
				}
				if nr.Reason != tt.reason {
					t.Fatalf("Reason = %v, want %v (%v)", nr.Reason, tt.reason, err)
				}
				if nr.ModelAttempts != tt.calls || len(nr.Attempts) != len(rec.attempts) {
					t.Fatalf("ModelAttempts = %d, Attempts = %v", nr.ModelAttempts, nr.Attempts)
				}
				if len(nr.Excerpt) > ExcerptBytes || len(err.Error()) > 1024 {
					t.Fatalf("unbounded error: excerpt %d bytes, message %d bytes", len(nr.Excerpt), len(err.Error()))
				}
			}
			if got := rec.attemptsString(); got != tt.attempts {
				t.Fatalf("attempts = %q, want %q", got, tt.attempts)
			}
			in, out, n := rec.usage()
			if n != tt.calls || m.numCalls() != tt.calls {
				t.Fatalf("model calls: observed %d, made %d, want %d", n, m.numCalls(), tt.calls)
			}
			var wantIn, wantOut int64
			for _, r := range tt.script[:tt.calls] {
				wantIn += r.usage.InputTokens
				wantOut += r.usage.OutputTokens
			}
			if in != wantIn || out != wantOut {
				t.Fatalf("usage reported %d/%d, want %d/%d", in, out, wantIn, wantOut)
			}
		})
	}
}

func TestDoGuardStop(t *testing.T) {
	blocked := errors.New("budget: blocked")
	var asked []int
	guard := func(_ context.Context, tool string, attempt int) error {
		asked = append(asked, attempt)
		if attempt >= 2 {
			return blocked
		}
		return nil
	}
	m := &scriptedModel{script: []reply{{text: `{"city":"Paris","days":99}`, usage: u}}}
	l, rec := newWeatherLoop(t, m, WithGuard(guard), WithMaxAttempts(3))
	_, err := Do(context.Background(), l, "get_weather", []byte(`{"city":"Paris","days":"3"}`), echo)
	var nr *NotRepairedError
	if !errors.As(err, &nr) || nr.Reason != StopGuard {
		t.Fatalf("err = %v, want StopGuard", err)
	}
	if !errors.Is(err, blocked) || !errors.Is(err, ErrInvalidArguments) || !errors.Is(err, ErrNotRepaired) {
		t.Fatalf("err = %v does not match guard error, ErrInvalidArguments and ErrNotRepaired", err)
	}
	if fmt.Sprint(asked) != "[1 2]" || m.numCalls() != 1 {
		t.Fatalf("guard asked for %v, model called %d times", asked, m.numCalls())
	}
	if in, _, n := rec.usage(); n != 1 || in != 100 {
		t.Fatalf("usage: %d calls, %d input tokens", n, in)
	}
}

func TestDoCanceledMidCall(t *testing.T) {
	m := &scriptedModel{
		script:  []reply{{block: true, usage: Usage{InputTokens: 120, OutputTokens: 7}}},
		started: make(chan struct{}),
	}
	fake := clock.NewFake(time.Unix(1700000000, 0))
	l, rec := newWeatherLoop(t, m, WithClock(fake))
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Do(ctx, l, "get_weather", []byte(`{"city":"Paris"}`), echo)
		done <- result{s, err}
	}()
	<-m.started
	fake.Advance(1500 * time.Millisecond)
	cancel()
	res := <-done
	var nr *NotRepairedError
	if !errors.As(res.err, &nr) || nr.Reason != StopCanceled {
		t.Fatalf("err = %v, want StopCanceled", res.err)
	}
	if !errors.Is(res.err, context.Canceled) {
		t.Fatalf("err = %v does not match context.Canceled", res.err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 {
		t.Fatalf("%d model calls observed, want 1", len(rec.calls))
	}
	c := rec.calls[0]
	if c.Usage.InputTokens != 120 || c.Usage.OutputTokens != 7 || c.Err == nil || c.Model != "m-small" ||
		c.Duration != 1500*time.Millisecond || c.Attempt != 1 || c.Tool != "get_weather" {
		t.Fatalf("model call event = %+v", c)
	}
	if len(rec.attempts) != 1 || rec.attempts[0].Outcome != OutcomeError {
		t.Fatalf("attempts = %+v", rec.attempts)
	}
}

func TestDoCanceledBeforeCall(t *testing.T) {
	m := &scriptedModel{}
	l, _ := newWeatherLoop(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Do(ctx, l, "get_weather", []byte(`{"city":"Paris"}`), echo)
	var nr *NotRepairedError
	if !errors.As(err, &nr) || nr.Reason != StopCanceled || !errors.Is(err, context.Canceled) || m.numCalls() != 0 {
		t.Fatalf("err = %v, calls = %d", err, m.numCalls())
	}
}

func TestDoRepairableToolError(t *testing.T) {
	const first = `{"city":"Pariss","days":3}`
	const fixed = `{"city":"Paris","days":3}`
	unknownCity := errors.New("unknown city")
	tool := func(_ context.Context, args []byte) (string, error) {
		if strings.Contains(string(args), "Pariss") {
			return "", Repairable(fmt.Errorf("geocode: %w", unknownCity))
		}
		return "sunny", nil
	}
	t.Run("repaired", func(t *testing.T) {
		m := &scriptedModel{script: []reply{{text: fixed, usage: u}}}
		l, rec := newWeatherLoop(t, m)
		got, err := Do(context.Background(), l, "get_weather", []byte(first), tool)
		if err != nil || got != "sunny" {
			t.Fatalf("Do = %q, %v", got, err)
		}
		if !strings.Contains(m.calls[0][1].Content, "The tool rejected these arguments: geocode: unknown city") {
			t.Fatalf("prompt lacks the tool error:\n%s", m.calls[0][1].Content)
		}
		if got := rec.attemptsString(); got != "get_weather#1:model:repaired" {
			t.Fatalf("attempts = %s", got)
		}
	})
	t.Run("same tool error stops", func(t *testing.T) {
		m := &scriptedModel{script: []reply{{text: `{"city":"Pariss","days":4}`, usage: u}}}
		l, _ := newWeatherLoop(t, m, WithMaxAttempts(4))
		_, err := Do(context.Background(), l, "get_weather", []byte(first), tool)
		var nr *NotRepairedError
		if !errors.As(err, &nr) || nr.Reason != StopRepeated || !errors.Is(err, unknownCity) || !errors.Is(err, ErrRepairable) {
			t.Fatalf("err = %v", err)
		}
		if nr.Last != nil || nr.LastToolErr == nil {
			t.Fatalf("Last = %v, LastToolErr = %v", nr.Last, nr.LastToolErr)
		}
	})
	t.Run("other tool errors pass through", func(t *testing.T) {
		boom := errors.New("boom")
		l, rec := newWeatherLoop(t, &scriptedModel{})
		_, err := Do(context.Background(), l, "get_weather", []byte(fixed), func(context.Context, []byte) (int, error) {
			return 0, boom
		})
		var nr *NotRepairedError
		if !errors.Is(err, boom) || errors.As(err, &nr) || err.Error() != "boom" {
			t.Fatalf("err = %v, want the tool's error unchanged", err)
		}
		if rec.attemptsString() != "" {
			t.Fatal("attempt reported for a valid call")
		}
	})
}

func TestDoUnknownTool(t *testing.T) {
	l, _ := newWeatherLoop(t, nil)
	if _, err := Do(context.Background(), l, "nope", []byte(`{}`), echo); !errors.Is(err, ErrUnknownTool) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoopArgs(t *testing.T) {
	l, _ := newWeatherLoop(t, nil)
	got, err := l.Args(context.Background(), "get_weather", []byte("\ufeff{\"city\":\"Oslo\",\"days\":2}"))
	if err != nil || string(got) != `{"city":"Oslo","days":2}` {
		t.Fatalf("Args = %q, %v", got, err)
	}
	_, err = l.Args(context.Background(), "get_weather", []byte(`{"city":"Oslo"}`))
	var nr *NotRepairedError
	if !errors.As(err, &nr) || nr.Reason != StopNoRepairer {
		t.Fatalf("err = %v, want StopNoRepairer", err)
	}
}

func TestNewConfig(t *testing.T) {
	reg := mustRegistry(t)
	if _, err := New(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("nil registry: %v", err)
	}
	for _, n := range []int{-1, MaxAttemptsLimit + 1} {
		if _, err := New(reg, WithMaxAttempts(n)); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("max attempts %d: %v", n, err)
		}
	}
	if _, err := NewModelRepairer(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("nil model: %v", err)
	}
	m := ModelFunc(func(context.Context, []Message) (Completion, error) { return Completion{}, nil })
	if _, err := NewModelRepairer(m, WithInstructions(" ")); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty instructions: %v", err)
	}
	if _, err := NewModelRepairer(m, WithPromptArgsBytes(10)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("tiny prompt: %v", err)
	}
}

func TestPromptContents(t *testing.T) {
	reg := mustRegistry(t)
	if err := reg.Register("get_weather", []byte(weatherSchema)); err != nil {
		t.Fatal(err)
	}
	s, _ := reg.Lookup("get_weather")
	args := []byte(`{"city":"Paris","days":"3","extra":` + strings.Repeat("9", 1000) + `}`)
	verr := s.validate(args)
	mr, err := NewModelRepairer(ModelFunc(func(context.Context, []Message) (Completion, error) {
		return Completion{}, nil
	}), WithPromptArgsBytes(256))
	if err != nil {
		t.Fatal(err)
	}
	msgs := mr.Prompt(Request{Tool: "get_weather", Schema: s, Args: args, Errors: verr, Attempt: 1})
	if len(msgs) != 2 || msgs[0].Role != RoleSystem || msgs[1].Role != RoleUser {
		t.Fatalf("messages = %+v", msgs)
	}
	p := msgs[1].Content
	for _, want := range []string{
		"Tool: get_weather", s.JSON(), "/days [type]: got string, want integer",
		"(root) [additionalProperties]: additional properties 'extra' not allowed",
	} {
		if !strings.Contains(p, want) {
			t.Fatalf("prompt lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, strings.Repeat("9", 300)) {
		t.Fatal("arguments not cut to the prompt limit")
	}
}

func TestDoConcurrent(t *testing.T) {
	// One shared Loop, many goroutines; every call is repaired exactly once
	// by the model and every usage is observed.
	const n = 64
	model := ModelFunc(func(_ context.Context, msgs []Message) (Completion, error) {
		return Completion{Text: `{"city":"Paris","days":3}`, Usage: Usage{InputTokens: 10, OutputTokens: 1}}, nil
	})
	l, rec := newWeatherLoop(t, model)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Do(context.Background(), l, "get_weather", []byte(`{"city":"Paris","days":"3"}`), echo)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	in, out, calls := rec.usage()
	if calls != n || in != 10*n || out != n || len(rec.attempts) != n {
		t.Fatalf("observed %d calls, %d/%d tokens, %d attempts", calls, in, out, len(rec.attempts))
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{KindLocal.String(), "local"}, {KindModel.String(), "model"}, {Kind(0).String(), "Kind(0)"},
		{OutcomeRepaired.String(), "repaired"}, {OutcomeInvalid.String(), "invalid"}, {OutcomeError.String(), "error"},
		{Outcome(0).String(), "Outcome(0)"},
		{StopExhausted.String(), "exhausted"}, {StopRepeated.String(), "repeated"}, {StopGuard.String(), "guard"},
		{StopCanceled.String(), "canceled"}, {StopRepairerFailed.String(), "repairer_failed"},
		{StopNoRepairer.String(), "no_repairer"}, {StopTooLarge.String(), "too_large"}, {StopReason(0).String(), "StopReason(0)"},
		{RoleSystem.String(), "system"}, {RoleUser.String(), "user"}, {RoleAssistant.String(), "assistant"},
		{Draft2020.String(), "2020-12"}, {Draft7.String(), "draft-07"},
		{FixNone.String(), "none"}, {FixBOM.String(), "bom"}, {FixExtracted.String(), "extracted"}, {FixUnquoted.String(), "unquoted"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
