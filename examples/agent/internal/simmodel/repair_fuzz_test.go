package simmodel

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

// FuzzRepairArgs checks the simulated model's argument repair on arbitrary
// schemas and broken arguments: it never panics, always answers one JSON
// object, fills every required property, and keeps each string within the
// schema's minLength and maxLength (in characters) and each integer whole
// and within integral bounds.
func FuzzRepairArgs(f *testing.F) {
	for _, s := range [][2]string{
		{`{"type":"object","properties":{"limit":{"type":"integer","minimum":2,"maximum":1000000}},"required":["limit"]}`, `{"limit":"100"}`},
		{`{"properties":{"q":{"type":"string","maxLength":3}},"required":["q"]}`, "```json\n{'q': 'héllo wörld',}\n```"},
		{`{"properties":{"q":{"type":"string","maxLength":-1}},"required":["q"]}`, `{"q":"abc"}`},
		{`{"properties":{"q":{"type":"string","maxLength":1e300}}}`, `{"q":"abc"}`},
		{`{"properties":{"x":{"type":"number"}}}`, `{"x": 1e999,}`},
		{`{"properties":{"x":{"type":"integer"}}}`, `{"x": 1e300,}`},
		{`{"properties":{"x":{"type":"integer","minimum":5,"maximum":1}}}`, `{"x":3}`},
		{`{"properties":{"b":{"type":"boolean"},"e":{"enum":["a","b"]}},"required":["b","e",""]}`, `{"b":"yes","e":"c"`},
		{`{"properties":{"q":{"type":"string","minLength":12,"maxLength":20}},"required":["q"]}`, `{"q":"short"}`},
		{`{}`, `"{\"a\":1}"`},
		{`null`, ``},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, schemaText, broken string) {
		var schema map[string]any
		_ = json.Unmarshal([]byte(schemaText), &schema)
		got := repairArgs("tool", schema, broken)
		var out map[string]any
		if err := json.Unmarshal([]byte(got), &out); err != nil || out == nil {
			t.Fatalf("answer %q is not a JSON object: %v", got, err)
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if name, _ := r.(string); name != "" {
				if _, ok := out[name]; !ok {
					t.Fatalf("required %q missing from %s", name, got)
				}
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for name, raw := range props {
			ps, _ := raw.(map[string]any)
			v, ok := out[name]
			if !ok || ps == nil || ps["default"] != nil || ps["examples"] != nil || ps["enum"] != nil {
				continue // absent, or possibly a filler taken from the schema as it is
			}
			switch ps["type"] {
			case "string":
				s, isString := v.(string)
				hi, bounded := ps["maxLength"].(float64)
				n := float64(utf8.RuneCountInString(s))
				if isString && bounded && hi >= 0 && n > hi {
					t.Fatalf("%s: %v characters, maxLength %v", name, n, hi)
				}
				lo, hasLo := ps["minLength"].(float64)
				if isString && hasLo && lo == math.Trunc(lo) && lo <= 1024 && (!bounded || lo <= hi) && n < lo {
					t.Fatalf("%s: %v characters, minLength %v", name, n, lo)
				}
			case "integer":
				n, isNumber := v.(float64)
				if !isNumber {
					continue // a filler of another type
				}
				if n != math.Trunc(n) {
					t.Fatalf("%s: %v is not whole", name, n)
				}
				lo, hasLo := ps["minimum"].(float64)
				hi, hasHi := ps["maximum"].(float64)
				if hasLo && hasHi && lo == math.Trunc(lo) && hi == math.Trunc(hi) && lo <= hi && (n < lo || n > hi) {
					t.Fatalf("%s: %v outside [%v,%v]", name, n, lo, hi)
				}
			}
		}
	})
}
