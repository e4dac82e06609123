package repair

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// parseSeeds are documents on the edges of the JSON grammar.
var parseSeeds = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-`, `01`, `1.`, `1.5e`, `1e+5`, `-1.25E-3`,
	`1234567890123456789012345678901234567890`, `"a"`, `"\u00e9\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
	`"\udc00\ud83d\ude00"`, `"\ud83d\u0041"`, `"\u12"`, `"\x"`, "\"\x01\"", "\"\xff\xfe\"", "\"\xed\xa0\x80\"",
	`{"a":1,"a":2}`, `{"a":[1,{"b":null}],"c":"d"}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1}}`,
	`{} {}`, `{}x`, `tru`, `truex`, `nul`, ` {"k" : [ true , false , null ] } `, "\ufeff{}",
	`{"origin":"CDG","passengers":2}`, `{"a":"\"\\\/\b\f\n\r\t"}`, `[[[[[[[[[[]]]]]]]]]]`,
	`"` + strings.Repeat(`\\`, 10) + `"`, `{"é":"ü"}`, "\t\n\r[ ]",
}

func floorParse(data []byte) (any, bool) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	return v, err == nil
}

func checkParseAgainstFloor(t *testing.T, data []byte) {
	t.Helper()
	want, wantOK := floorParse(data)
	got, err := parseJSON(data)
	if (err == nil) != wantOK {
		t.Fatalf("parse(%q): err = %v, floor ok = %v", data, err, wantOK)
	}
	if wantOK && !reflect.DeepEqual(got, want) {
		t.Fatalf("parse(%q) = %#v, floor = %#v", data, got, want)
	}
	if err == nil && !validDocument(string(data)) {
		t.Fatalf("validDocument(%q) = false for a parsed document", data)
	}
	if err != nil && validDocument(string(data)) {
		t.Fatalf("validDocument(%q) = true for a rejected document", data)
	}
}

func TestParseMatchesFloor(t *testing.T) {
	for _, s := range parseSeeds {
		t.Run("", func(t *testing.T) { checkParseAgainstFloor(t, []byte(s)) })
	}
}

func TestParseDepthLimit(t *testing.T) {
	for _, n := range []int{maxDepth, maxDepth + 1} {
		doc := strings.Repeat("[", n) + strings.Repeat("]", n)
		_, err := parseJSON([]byte(doc))
		if (err == nil) != (n <= maxDepth) {
			t.Fatalf("depth %d: err = %v", n, err)
		}
		checkParseAgainstFloor(t, []byte(doc))
	}
}

// FuzzParse checks the parser against jsonschema.UnmarshalJSON: same
// acceptance, equal values.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParseAgainstFloor(t, data)
	})
}

// FuzzValidate checks Schema.Validate against the floor (UnmarshalJSON +
// Validate) on arbitrary input: same verdict, and every error is a bounded
// *ValidationError.
func FuzzValidate(f *testing.F) {
	reg := mustRegistry(f)
	if err := reg.Register("t", []byte(benchSchema)); err != nil {
		f.Fatal(err)
	}
	s, _ := reg.Lookup("t")
	f.Add([]byte(benchArgs))
	f.Add([]byte(`{"origin":"cdg","passengers":"2","extra":true}`))
	f.Add([]byte(`{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":2,"airlines":["A",3]}`))
	f.Add([]byte("```json\n{}\n```"))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := s.Validate(data)
		v, ok := floorParse(data)
		floorValid := ok && s.compiled.Validate(v) == nil
		if (err == nil) != floorValid {
			t.Fatalf("Validate(%q) = %v, floor valid = %v", data, err, floorValid)
		}
		if err == nil {
			return
		}
		ve, isVE := err.(*ValidationError)
		if !isVE || len(ve.Violations) == 0 || len(ve.Violations) > DefaultMaxViolations {
			t.Fatalf("Validate(%q) = %#v", data, err)
		}
		for _, v := range ve.Violations {
			if len(v.Message) > DefaultMaxMessageBytes {
				t.Fatalf("message %q too long", v.Message)
			}
		}
	})
}
