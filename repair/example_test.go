package repair_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/llmops-go/llmops/repair"
)

// A model replied with fenced arguments where "days" is a string. The
// local fix strips the fence; the schema still rejects "3", so the
// ModelRepairer asks the (here scripted) model, whose answer validates.
func Example() {
	reg, _ := repair.NewRegistry()
	err := reg.Register("get_weather", []byte(`{
		"type": "object",
		"properties": {
			"city": {"type": "string"},
			"days": {"type": "integer", "minimum": 1, "maximum": 14}
		},
		"required": ["city", "days"],
		"additionalProperties": false
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}

	// A scripted model; adapt a real client (OpenAI SDK, HTTP) the same way.
	model := repair.ModelFunc(func(ctx context.Context, msgs []repair.Message) (repair.Completion, error) {
		return repair.Completion{
			Text:  "```json\n{\"city\": \"Paris\", \"days\": 3}\n```",
			Model: "gpt-4o-mini",
			Usage: repair.Usage{InputTokens: 180, OutputTokens: 12},
		}, nil
	})
	repairer, _ := repair.NewModelRepairer(model)
	obs := repair.ObserverFuncs{
		OnModelCall: func(_ context.Context, e repair.ModelCallEvent) {
			fmt.Printf("model call: attempt %d, %d in / %d out tokens\n", e.Attempt, e.Usage.InputTokens, e.Usage.OutputTokens)
		},
		OnAttempt: func(_ context.Context, e repair.AttemptEvent) {
			fmt.Printf("attempt %d (%s): %s\n", e.Attempt, e.Kind, e.Outcome)
		},
	}
	loop, _ := repair.New(reg, repair.WithRepairer(repairer), repair.WithObserver(obs))

	bad := []byte("```json\n{\"city\": \"Paris\", \"days\": \"3\"}\n```")
	fmt.Println(reg.Validate("get_weather", bad))

	forecast, err := repair.Do(context.Background(), loop, "get_weather", bad,
		func(ctx context.Context, args []byte) (string, error) {
			var in struct {
				City string `json:"city"`
				Days int    `json:"days"`
			}
			if err := json.Unmarshal(args, &in); err != nil {
				return "", err
			}
			return fmt.Sprintf("%d days of sun in %s", in.Days, in.City), nil
		})
	fmt.Println(forecast, err)
	// Output:
	// repair: invalid arguments for tool "get_weather": (root) [json]: not a single JSON document: invalid character '`' looking for beginning of value at offset 0
	// attempt 0 (local): invalid
	// model call: attempt 1, 180 in / 12 out tokens
	// attempt 1 (model): repaired
	// 3 days of sun in Paris <nil>
}

// A guard stops repairing when the budget says so, and the typed error
// says why.
func ExampleNotRepairedError() {
	reg, _ := repair.NewRegistry()
	_ = reg.Register("get_weather", []byte(`{"type":"object","required":["city"]}`))
	errBlocked := fmt.Errorf("budget: blocked")
	loop, _ := repair.New(reg,
		repair.WithRepairer(repair.RepairerFunc(func(context.Context, repair.Request) (repair.Result, error) {
			return repair.Result{}, fmt.Errorf("not reached")
		})),
		repair.WithGuard(func(ctx context.Context, tool string, attempt int) error { return errBlocked }),
	)
	_, err := loop.Args(context.Background(), "get_weather", []byte(`{}`))
	var nr *repair.NotRepairedError
	if errors.As(err, &nr) {
		fmt.Println(nr.Reason, nr.ModelAttempts, errors.Is(err, repair.ErrNotRepaired), errors.Is(err, errBlocked))
	}
	fmt.Println(err)
	// Output:
	// guard 0 true true
	// repair: arguments for tool "get_weather" not repaired after 0 model attempt(s) (guard): budget: blocked; last: (root) [required]: missing property 'city'
}
