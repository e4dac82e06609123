package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmops-go/llmops/internal/strictjson"
)

func only(keys ...string) func(string) bool {
	return func(k string) bool {
		for _, want := range keys {
			if k == want {
				return true
			}
		}
		return false
	}
}

func TestCheck(t *testing.T) {
	deep := strings.Repeat(`{"a":`, strictjson.MaxDepth) + "1" + strings.Repeat("}", strictjson.MaxDepth)
	tooDeep := strings.Repeat(`{"a":`, strictjson.MaxDepth+1) + "1" + strings.Repeat("}", strictjson.MaxDepth+1)
	tests := []struct {
		name, doc string
		known     func(string) bool
		ok        bool
		why       string
	}{
		{"object", `{"prompt":"hi"}`, only("prompt"), true, ""},
		{"white space around", " \n\t{ \"prompt\" : \"hi\" }\r\n ", only("prompt"), true, ""},
		{"escaped key", `{"\u0070rompt":"hi"}`, only("prompt"), true, ""},
		{"any key", `{"x":1,"y":[1,2,{"z":true}]}`, nil, true, ""},
		{"nested at the limit", deep, nil, true, ""},
		{"empty object", `{}`, only("prompt"), true, ""},
		{"empty", ``, nil, false, "empty"},
		{"blank", " \n ", nil, false, "empty"},
		{"case-folded key", `{"PROMPT":"hi"}`, only("prompt"), false, "unknown field"},
		{"unknown key", `{"prompt":"hi","x":1}`, only("prompt"), false, "unknown field"},
		{"duplicate key", `{"prompt":"a","prompt":"b"}`, only("prompt"), false, "duplicate key"},
		{"duplicate escaped key", `{"prompt":"a","\u0070rompt":"b"}`, only("prompt"), false, "duplicate key"},
		{"nested duplicate key", `{"t":{"a":1,"a":2}}`, nil, false, "duplicate key"},
		{"duplicate in array element", `{"t":[{"a":1},{"a":1,"a":2}]}`, nil, false, "duplicate key"},
		{"null", `{"prompt":null}`, only("prompt"), false, "null"},
		{"nested null", `{"t":{"a":null}}`, nil, false, "null"},
		{"null in array", `{"t":[1,null]}`, nil, false, "null"},
		{"trailing object", `{"prompt":"a"}{"prompt":"b"}`, only("prompt"), false, "after"},
		{"trailing brace", `{"prompt":"a"}}`, only("prompt"), false, "after"},
		{"trailing bracket", `{"prompt":"a"}]`, only("prompt"), false, "after"},
		{"trailing garbage", `{"prompt":"a"} x`, only("prompt"), false, "after"},
		{"invalid UTF-8", "{\"prompt\":\"\xff\"}", only("prompt"), false, "UTF-8"},
		{"array", `[{"prompt":"a"}]`, only("prompt"), false, "not a JSON object"},
		{"string", `"prompt"`, only("prompt"), false, "not a JSON object"},
		{"top-level null", `null`, nil, false, "not a JSON object"},
		{"truncated", `{"prompt":"a"`, only("prompt"), false, "malformed"},
		{"too deep", tooDeep, nil, false, "deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := strictjson.Check([]byte(tt.doc), tt.known)
			if tt.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, strictjson.ErrNotStrict) || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("error %v, want ErrNotStrict saying %q", err, tt.why)
			}
		})
	}
}

// FuzzCheck checks that an accepted document is one valid JSON object that
// survives a round trip unchanged, and that adding a duplicate key, a null
// member or trailing data to it makes it rejected.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"hi"}`, `{"a":{"b":[1,2,{"c":"d"}]},"e":-1.5e3}`, `{}`, `{"a":1,"a":2}`, `{"A":1,"a":2}`,
		`{"a":null}`, `{"a":1} {}`, `{"a":1}]`, "{\"a\":\"\xc3\"}", `[1]`, ``, `{"\u00e9":"\u00e9"}`,
		strings.Repeat(`[`, 20) + strings.Repeat(`]`, 20),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := strictjson.Check(data, nil)
		if err != nil {
			if !errors.Is(err, strictjson.ErrNotStrict) {
				t.Fatalf("error %v does not match ErrNotStrict", err)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted %q, which is not one valid JSON value in UTF-8", data)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil || v == nil {
			t.Fatalf("accepted %q, which is not an object: %v", data, err)
		}
		// Without duplicates or nulls, decoding loses nothing: the
		// re-encoded object is accepted and decodes to the same value.
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := strictjson.Check(again, nil); err != nil {
			t.Fatalf("accepted %q but rejected its re-encoding %q: %v", data, again, err)
		}
		var w map[string]any
		if err := json.Unmarshal(again, &w); err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %v into %v (%v)", v, w, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			t.Fatal(err)
		}
		c := compact.Bytes()
		body := c[:len(c)-1] // without the closing brace
		sep := ","
		if len(v) == 0 {
			sep = ""
		}
		mutants := map[string][]byte{
			"null member":   append(append(bytes.Clone(body), sep+`"\u0000null":null`...), '}'),
			"trailing data": append(bytes.Clone(c), `{}`...),
		}
		for k := range v {
			key, _ := json.Marshal(k)
			mutants["duplicate "+string(key)] = append(append(append(bytes.Clone(body), sep...), key...), `:0}`...)
			break
		}
		for what, m := range mutants {
			if strictjson.Check(m, nil) == nil {
				t.Fatalf("%s: accepted %q (from %q)", what, m, data)
			}
		}
	})
}

func TestDecode(t *testing.T) {
	only := func(k string) bool { return k == "n" }
	var v struct {
		N int `json:"n"`
	}
	if err := strictjson.Decode([]byte(`{"n": 7}`), only, &v); err != nil || v.N != 7 {
		t.Fatalf("Decode = %v, n %d; want nil, 7", err, v.N)
	}
	if err := strictjson.Decode([]byte(`{"N": 8}`), only, &v); !errors.Is(err, strictjson.ErrNotStrict) || v.N != 7 {
		t.Fatalf("case-folded key: %v, n %d; want ErrNotStrict and n untouched", err, v.N)
	}
	var te *json.UnmarshalTypeError
	if err := strictjson.Decode([]byte(`{"n": "x"}`), only, &v); !errors.As(err, &te) || errors.Is(err, strictjson.ErrNotStrict) {
		t.Fatalf("wrong type: %v; want encoding/json's *UnmarshalTypeError", err)
	}
}
