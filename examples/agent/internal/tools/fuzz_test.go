package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmops-go/llmops/examples/agent/internal/tools"
	"github.com/llmops-go/llmops/fallback"
	"github.com/llmops-go/llmops/repair"
)

// fuzzTools are the tools FuzzToolArgs calls, indexed by its tool byte; the
// last one is not in the set.
var fuzzTools = []string{tools.ComputePrimes, tools.LookupFact, tools.WebSearch, "no_such_tool"}

// toolArgSeeds are argument documents tried against every tool.
var toolArgSeeds = []string{
	`{"limit":100}`, `{"limit":2}`, `{"limit":1000000}`, `{"limit":1}`, `{"limit":1000001}`, `{"limit":-5}`,
	`{"limit":100.0}`, `{"limit":1e2}`, `{"limit":1E+2}`, `{"limit":0.5e1}`, `{"limit":500e-2}`, `{"limit":100.5}`,
	`{"limit":1e1000000}`, `{"limit":1e-1000000}`, `{"limit":-0}`, `{"limit":9223372036854775808}`, `{"limit":"100"}`,
	`{"limit":null}`, `{"LIMIT":100}`, `{"limit":100,"limit":2000000}`, `{"limit":2000000,"limit":100}`, `{"limit":100} {}`,
	`{"limit":100}]`, `{"limit":[100]}`, `{"limit":{"n":100}}`, `{"limit":true}`, `{}`, ``, `null`, `[]`, `"x"`,
	`{"topic":"paris"}`, `{"topic":""}`, `{"topic":"` + strings.Repeat("é", 80) + `"}`, `{"topic":"` + strings.Repeat("é", 81) + `"}`,
	`{"Topic":"paris"}`, `{"topic":"paris","topic":"go"}`, "{\"topic\":\"\xff\"}", `{"topic":"\ud800"}`, `{"topic":7}`,
	`{"query":"weather in Paris today"}`, `{"query":"go","max_results":10}`, `{"query":"go","max_results":0}`,
	`{"query":"go","max_results":-1}`, `{"query":"go","max_results":11}`, `{"query":"go","max_results":"3"}`,
	`{"query":"go","max_results":3.0}`, `{"query":"go","extra":1}`, `{"query":"` + strings.Repeat("ü", 300) + `"}`,
	`{"query":"` + strings.Repeat("ü", 301) + `"}`, `{"max_results":3}`, `{"query":"go","max_results":null}`,
	"```json\n{\"limit\":100}\n```", `{"query":"go"}` + strings.Repeat(" ", 300<<10),
}

// FuzzToolArgs feeds arbitrary arguments to Set.Call for each tool, with and
// without a fault that sends web_search down its fallback chain. It checks
// that Call never panics, that a refusal is a repairable error (or, under
// the fault, the chain's "no tool available"), that Call accepts exactly
// the arguments the tool's own schema accepts when they have no duplicate
// key and are valid UTF-8, and that each accepted call's answer keeps the
// schema's bounds: the limit, topic, query and result count asked for.
func FuzzToolArgs(f *testing.F) {
	for _, s := range toolArgSeeds {
		for i := range fuzzTools {
			f.Add(uint8(i), false, []byte(s))
		}
		f.Add(uint8(2), true, []byte(s))
	}
	reg, err := tools.Registry()
	if err != nil {
		f.Fatal(err)
	}
	clean, err := tools.New()
	if err != nil {
		f.Fatal(err)
	}
	faulty, err := tools.New()
	if err != nil {
		f.Fatal(err)
	}
	fault := fmt.Errorf("injected outage: %w", fallback.ErrUnavailable)
	f.Fuzz(func(t *testing.T, tool uint8, withFault bool, args []byte) {
		name := fuzzTools[int(tool)%len(fuzzTools)]
		set, ctx := clean, context.Background()
		if withFault {
			set, ctx = faulty, tools.WithFault(ctx, fault)
		}
		out, err := set.Call(ctx, name, args)
		if name == "no_such_tool" {
			if !errors.Is(err, tools.ErrUnknownTool) {
				t.Fatalf("unknown tool: %v", err)
			}
			return
		}
		schemaErr := reg.Validate(name, args)
		fits := schemaErr == nil && utf8.Valid(args) && !duplicateKeys(args)
		if err != nil {
			switch {
			case errors.Is(err, repair.ErrRepairable):
				if fits {
					t.Fatalf("%s rejected %q, which fits its schema: %v", name, args, err)
				}
			case withFault && name != tools.WebSearch && errors.Is(err, fallback.ErrNoToolAvailable):
				if !fits {
					t.Fatalf("%s ran with %q, which does not fit its schema: %v", name, args, schemaErr)
				}
			default:
				t.Fatalf("%s(%q): unexpected error %v", name, args, err)
			}
			return
		}
		if schemaErr != nil || !utf8.Valid(args) || duplicateKeys(args) {
			t.Fatalf("%s accepted %q: schema says %v, valid UTF-8 %v, duplicate keys %v",
				name, args, schemaErr, utf8.Valid(args), duplicateKeys(args))
		}
		var in map[string]json.RawMessage
		if err := json.Unmarshal(args, &in); err != nil {
			t.Fatal(err)
		}
		var res map[string]json.RawMessage
		if err := json.Unmarshal(out.Result, &res); err != nil {
			t.Fatalf("result %s is not a JSON object: %v", out.Result, err)
		}
		switch name {
		case tools.ComputePrimes:
			checkPrimes(t, integer(t, in["limit"]), res)
		case tools.LookupFact:
			topic := text(t, in["topic"])
			if n := utf8.RuneCountInString(topic); n < 1 || n > 80 || text(t, res["topic"]) != topic || text(t, res["answer"]) == "" {
				t.Fatalf("topic %q (%d characters): result %s", topic, n, out.Result)
			}
		case tools.WebSearch:
			checkSearch(t, in, out, res, withFault)
		}
	})
}

// duplicateKeys reports whether a JSON object's top level repeats a key
// (map decoding hides it: encoding/json keeps the last).
func duplicateKeys(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	seen := map[string]bool{}
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
				expectKey = depth == 1
			} else {
				depth--
				expectKey = depth == 1
			}
			continue
		case string:
			if depth == 1 && expectKey {
				if seen[v] {
					return true
				}
				seen[v] = true
				expectKey = false
				continue
			}
		}
		if depth == 1 {
			expectKey = true
		}
	}
}

// integer reads a JSON number that JSON Schema calls an integer, the way
// the schema validator does (big.Rat).
func integer(t *testing.T, raw json.RawMessage) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(string(raw))
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		t.Fatalf("%s is not an integer", raw)
	}
	return r.Num().Int64()
}

func text(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a string: %v", raw, err)
	}
	return s
}

func prime(n int64) bool {
	if n < 2 {
		return false
	}
	for d := int64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// checkPrimes checks compute_primes' answer for limit: within bounds, the
// largest prime up to limit and, for small limits, the count.
func checkPrimes(t *testing.T, limit int64, res map[string]json.RawMessage) {
	t.Helper()
	if limit < 2 || limit > tools.MaxPrimeLimit {
		t.Fatalf("accepted limit %d, outside [2,%d]", limit, tools.MaxPrimeLimit)
	}
	var got struct{ Limit, Count, Largest int64 }
	for k, p := range map[string]*int64{"limit": &got.Limit, "count": &got.Count, "largest": &got.Largest} {
		if err := json.Unmarshal(res[k], p); err != nil {
			t.Fatalf("result %s: %v", k, err)
		}
	}
	if got.Limit != limit || !prime(got.Largest) || got.Largest > limit || got.Count < 1 {
		t.Fatalf("limit %d: result %+v", limit, got)
	}
	for n := got.Largest + 1; n <= limit; n++ {
		if prime(n) {
			t.Fatalf("limit %d: largest %d, but %d is prime", limit, got.Largest, n)
		}
	}
	if limit <= 2000 {
		var want int64
		for n := int64(2); n <= limit; n++ {
			if prime(n) {
				want++
			}
		}
		if got.Count != want {
			t.Fatalf("limit %d: count %d, want %d", limit, got.Count, want)
		}
	}
}

// checkSearch checks web_search's answer: the query asked for, at most
// max_results results (3 by default), a source that matches the step that
// served, and no live search under the fault.
func checkSearch(t *testing.T, in map[string]json.RawMessage, out tools.Outcome, res map[string]json.RawMessage, withFault bool) {
	t.Helper()
	q := text(t, in["query"])
	maxResults := int64(3)
	if raw, ok := in["max_results"]; ok {
		maxResults = integer(t, raw)
	}
	if n := utf8.RuneCountInString(q); n < 1 || n > 300 || maxResults < 1 || maxResults > 10 {
		t.Fatalf("accepted query of %d characters, max_results %d", n, maxResults)
	}
	var results []json.RawMessage
	if err := json.Unmarshal(res["results"], &results); err != nil {
		t.Fatalf("results: %v", err)
	}
	source := map[string]string{tools.WebSearch: "web", tools.StepSnapshot: "cached_snapshot", tools.StepStaticKB: "static_kb"}[out.Step]
	if text(t, res["query"]) != q || len(results) < 1 || int64(len(results)) > maxResults ||
		source == "" || text(t, res["source"]) != source || out.Fallback != (out.Step != tools.WebSearch) ||
		(withFault && !out.Fallback) {
		t.Fatalf("query %q, max_results %d, fault %v: step %q fallback %v, result %s",
			q, maxResults, withFault, out.Step, out.Fallback, out.Result)
	}
}
