package repair

import (
	"bytes"
	"strings"
	"testing"
)

func TestCleanArgs(t *testing.T) {
	obj := `{"city":"Paris","days":"3"}`
	tests := []struct {
		name string
		in   string
		want string // "" means not fixed
		fix  LocalFix
	}{
		{"clean object", obj, obj, FixNone},
		{"surrounding space", "\n  " + obj + "\t", obj, FixNone},
		{"bom", "\ufeff" + obj, obj, FixBOM},
		{"fenced json", "```json\n" + obj + "\n```", obj, FixExtracted},
		{"fenced plain", "```\n" + obj + "\n```\n", obj, FixExtracted},
		{"fenced in prose", "Here are the arguments:\n\n```json\n" + obj + "\n```\nLet me know.", obj, FixExtracted},
		{"prose before and after", "I will call the tool with " + obj + " now.", obj, FixExtracted},
		{"prose with braces that are not json", "Use {city} as a placeholder: " + obj, obj, FixExtracted},
		{"nested braces in strings", `Args: {"q":"{not json}","n":{"m":[1,{"k":"}"}]}} done`, `{"q":"{not json}","n":{"m":[1,{"k":"}"}]}}`, FixExtracted},
		{"same object twice", "Calling " + obj + ":\n```json\n" + obj + "\n```", obj, FixExtracted},
		{"double encoded", `"{\"city\":\"Paris\",\"days\":\"3\"}"`, obj, FixUnquoted},
		{"double encoded with spaces", `" {\"a\":1} "`, `{"a":1}`, FixUnquoted},
		{"bom and fence", "\ufeff```json\n" + obj + "\n```", obj, FixExtracted},
		{"two different objects", `{"city":"Paris"} or {"city":"Lyon"}`, "", FixNone},
		{"two fenced objects", "```json\n{\"a\":1}\n```\n```json\n{\"a\":2}\n```", "", FixNone},
		{"empty", "", "", FixNone},
		{"only bom", "\ufeff", "", FixNone},
		{"prose only", "I cannot help with that.", "", FixNone},
		{"array", `[{"a":1}]`, "", FixNone},
		{"number", `5`, "", FixNone},
		{"string without object", `"Paris"`, "", FixNone},
		{"string with array", `"[1]"`, "", FixNone},
		{"string with fenced object", `"` + "```json\\n{}\\n```" + `"`, "", FixNone},
		{"truncated object", `{"city":"Par`, "", FixNone},
		{"trailing comma not guessed", `{"city":"Paris",}`, "", FixNone},
		{"single quotes not guessed", `{'city':'Paris'}`, "", FixNone},
		{"python literals not guessed", `{"ok": True}`, "", FixNone},
		{"object inside broken object", `{"a": oops {"b":1}}`, `{"b":1}`, FixExtracted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fix, ok := CleanArgs([]byte(tt.in))
			if ok != (tt.want != "") {
				t.Fatalf("CleanArgs(%q) ok = %v (%q)", tt.in, ok, got)
			}
			if string(got) != tt.want || fix != tt.fix {
				t.Fatalf("CleanArgs(%q) = %q, %v; want %q, %v", tt.in, got, fix, tt.want, tt.fix)
			}
		})
	}
}

func TestCleanArgsPathologicalIsBounded(t *testing.T) {
	// Every '{' starts a deep, never-closed object: a naive scan is
	// quadratic. The work budget makes it give up.
	in := []byte(strings.Repeat(`{"a":`, 50000))
	if _, _, ok := CleanArgs(in); ok {
		t.Fatal("fixed a document with no complete object")
	}
	// Many small objects: ambiguous, found in one pass.
	many := []byte(strings.Repeat(`{"a":1} {"a":2} `, 10000))
	if _, _, ok := CleanArgs(many); ok {
		t.Fatal("fixed an ambiguous document")
	}
}

func checkCleanArgs(t *testing.T, in []byte) {
	t.Helper()
	orig := bytes.Clone(in)
	got, fix, ok := CleanArgs(in)
	if !bytes.Equal(in, orig) {
		t.Fatal("CleanArgs modified its input")
	}
	if !ok {
		if got != nil || fix != FixNone {
			t.Fatalf("not ok but returned %q, %v", got, fix)
		}
		return
	}
	v, err := parseJSON(got)
	if err != nil {
		t.Fatalf("CleanArgs(%q) = %q: not JSON: %v", in, got, err)
	}
	if _, isObj := v.(map[string]any); !isObj {
		t.Fatalf("CleanArgs(%q) = %q: not an object", in, got)
	}
	if fix != FixUnquoted && !bytes.Contains(in, got) {
		t.Fatalf("CleanArgs(%q) = %q: not taken from the input", in, got)
	}
	// Idempotent: a cleaned object needs no further fix.
	again, fix2, ok2 := CleanArgs(got)
	if !ok2 || fix2 != FixNone || !bytes.Equal(again, got) {
		t.Fatalf("CleanArgs not idempotent on %q: %q, %v, %v", got, again, fix2, ok2)
	}
}

// FuzzCleanArgs checks the local fixer's invariants: it never panics,
// never modifies its input, returns only a JSON object taken from the
// input (or from a JSON string in it), and is idempotent.
func FuzzCleanArgs(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, "```json\n{\"a\":1}\n```", `text {"a":1} text`, `{"a":1}{"a":2}`, `"{\"a\":1}"`,
		"\ufeff{}", `[{"a":1}]`, `{"a":`, `{{{}}}`, `}{`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCleanArgs(t, in)
	})
}
