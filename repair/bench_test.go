package repair

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// benchSchema is a typical tool schema with eight argument fields.
const benchSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "origin":      {"type": "string", "pattern": "^[A-Z]{3}$"},
    "destination": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "date":        {"type": "string", "format": "date"},
    "passengers":  {"type": "integer", "minimum": 1, "maximum": 9},
    "cabin":       {"type": "string", "enum": ["economy", "premium", "business", "first"]},
    "max_price":   {"type": "number", "exclusiveMinimum": 0},
    "nonstop":     {"type": "boolean"},
    "airlines":    {"type": "array", "items": {"type": "string", "minLength": 2}, "maxItems": 5}
  },
  "required": ["origin", "destination", "date", "passengers"],
  "additionalProperties": false
}`

// benchArgs are valid arguments for benchSchema.
const benchArgs = `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":2,"cabin":"economy","max_price":950.5,"nonstop":true,"airlines":["AF","DL","UA"]}`

func benchRegistry(b *testing.B) (*Registry, *Schema) {
	b.Helper()
	reg, err := NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Register("search_flights", []byte(benchSchema)); err != nil {
		b.Fatal(err)
	}
	s, _ := reg.Lookup("search_flights")
	return reg, s
}

// benchLoop is New(reg, opts...), failing b on error.
func benchLoop(b *testing.B, reg *Registry, opts ...Option) *Loop {
	b.Helper()
	l, err := New(reg, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// benchRun is the tool every Do benchmark runs: it does nothing.
func benchRun(_ context.Context, args []byte) (int, error) { return len(args), nil }

// benchFloorFn, benchValidateFn and benchDoFn are the sides the interleaved
// benchmarks time on valid arguments: jsonschema v6's own decoding and
// validation (the floor), this package's Validate, and the whole Do.
func benchFloorFn(b *testing.B, s *Schema, data []byte) func() {
	return func() {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil || s.compiled.Validate(v) != nil {
			b.Fatal("floor rejected valid arguments")
		}
	}
}

func benchValidateFn(b *testing.B, s *Schema, data []byte) func() {
	return func() {
		if err := s.Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDoFn(b *testing.B, l *Loop, data []byte) func() {
	ctx := context.Background()
	return func() {
		if _, err := Do(ctx, l, "search_flights", data, benchRun); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorJSONSchema is the floor: jsonschema v6's own UnmarshalJSON
// followed by Validate on the same compiled schema.
func BenchmarkFloorJSONSchema(b *testing.B) {
	_, s := benchRegistry(b)
	data := []byte(benchArgs)
	b.ReportAllocs()
	for b.Loop() {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.compiled.Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is this package's parse + validate of the same bytes.
func BenchmarkValidate(b *testing.B) {
	_, s := benchRegistry(b)
	data := []byte(benchArgs)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoValid is the whole loop when the first arguments are valid.
func BenchmarkDoValid(b *testing.B) {
	reg, _ := benchRegistry(b)
	l := benchLoop(b, reg, WithRepairer(RepairerFunc(func(context.Context, Request) (Result, error) {
		b.Fatal("repairer called")
		return Result{}, nil
	})))
	ctx := context.Background()
	data := []byte(benchArgs)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Do(ctx, l, "search_flights", data, benchRun); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoValidParallel runs the valid path from all Ps.
func BenchmarkDoValidParallel(b *testing.B) {
	reg, _ := benchRegistry(b)
	l := benchLoop(b, reg)
	ctx := context.Background()
	data := []byte(benchArgs)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Do(ctx, l, "search_flights", data, benchRun); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

// BenchmarkValidateVsFloor interleaves this package's Validate with the
// floor in one loop, alternating which goes first, so machine noise and
// garbage collection hit both alike. It reports ours/floor as "x-floor"
// (target at most 1.1) next to both per-op times.
func BenchmarkValidateVsFloor(b *testing.B) {
	_, s := benchRegistry(b)
	data := []byte(benchArgs)
	floorFn := benchFloorFn(b, s, data)
	oursFn := benchValidateFn(b, s, data)
	var ours, floor time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%2 == 0 {
			floor += timed(floorFn)
			ours += timed(oursFn)
		} else {
			ours += timed(oursFn)
			floor += timed(floorFn)
		}
		i++
	}
	b.ReportMetric(float64(ours)/float64(floor), "x-floor")
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
}

// BenchmarkDoOverhead interleaves Do (valid first arguments) with the floor
// and with a bare Validate, rotating their order, and reports Do's extra
// time over each ("ns-over-floor", target at most 100; "ns-over-validate").
func BenchmarkDoOverhead(b *testing.B) {
	reg, s := benchRegistry(b)
	l := benchLoop(b, reg)
	data := []byte(benchArgs)
	fns := [3]func(){
		benchFloorFn(b, s, data),
		benchValidateFn(b, s, data),
		benchDoFn(b, l, data),
	}
	var sum [3]time.Duration
	i := 0
	for b.Loop() {
		for k := 0; k < 3; k++ {
			j := (i + k) % 3
			sum[j] += timed(fns[j])
		}
		i++
	}
	n := float64(b.N)
	b.ReportMetric(float64((sum[2]-sum[0]).Nanoseconds())/n, "ns-over-floor")
	b.ReportMetric(float64((sum[2]-sum[1]).Nanoseconds())/n, "ns-over-validate")
	b.ReportMetric(float64(sum[2].Nanoseconds())/n, "do-ns/op")
}

// BenchmarkDoExtraAllocs reports the allocations Do adds to Validate on
// valid first arguments (target 0).
func BenchmarkDoExtraAllocs(b *testing.B) {
	reg, s := benchRegistry(b)
	l := benchLoop(b, reg)
	ctx := context.Background()
	data := []byte(benchArgs)
	validate := testing.AllocsPerRun(200, func() { _ = s.Validate(data) })
	do := testing.AllocsPerRun(200, func() { _, _ = Do(ctx, l, "search_flights", data, benchRun) })
	for b.Loop() {
		_, _ = Do(ctx, l, "search_flights", data, benchRun)
	}
	b.ReportMetric(do-validate, "extra-allocs/op")
}

// BenchmarkDoLocalFix is the repair path that needs no model: fenced,
// otherwise valid arguments.
func BenchmarkDoLocalFix(b *testing.B) {
	reg, _ := benchRegistry(b)
	l := benchLoop(b, reg)
	ctx := context.Background()
	data := []byte("Calling the tool:\n```json\n" + benchArgs + "\n```")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Do(ctx, l, "search_flights", data, benchRun); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoFixedCost isolates Do's own cost on a minimal document, where
// parsing and validation are nearly free: compare the two sub-benchmarks.
func BenchmarkDoFixedCost(b *testing.B) {
	reg, err := NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Register("noop", []byte(`{"type":"object"}`)); err != nil {
		b.Fatal(err)
	}
	s, _ := reg.Lookup("noop")
	l := benchLoop(b, reg)
	ctx := context.Background()
	data := []byte(`{}`)
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Validate(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Do", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Do(ctx, l, "noop", data, benchRun); err != nil {
				b.Fatal(err)
			}
		}
	})
}
