package repair

import (
	"errors"
	"strings"
	"testing"
)

func mustRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	reg, err := NewRegistry(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestNewRegistryConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []RegistryOption
		ok   bool
	}{
		{"defaults", nil, true},
		{"draft7", []RegistryOption{WithDefaultDraft(Draft7)}, true},
		{"bad draft", []RegistryOption{WithDefaultDraft(0)}, false},
		{"zero violations", []RegistryOption{WithMaxViolations(0)}, false},
		{"too many violations", []RegistryOption{WithMaxViolations(101)}, false},
		{"tiny messages", []RegistryOption{WithMaxMessageBytes(10)}, false},
		{"tiny args", []RegistryOption{WithMaxArgsBytes(100)}, false},
		{"huge args", []RegistryOption{WithMaxArgsBytes(1 << 30)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRegistry(tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name   string
		tool   string
		schema string
		want   error // nil: registered
	}{
		{"2020-12", "a", benchSchema, nil},
		{"draft-07 by $schema", "b", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"n":{"type":"integer"}},"properties":{"x":{"$ref":"#/definitions/n"}},"dependencies":{"x":["y"]}}`, nil},
		{"local $defs ref", "c", `{"$defs":{"n":{"type":"integer"}},"properties":{"x":{"$ref":"#/$defs/n"}}}`, nil},
		{"metaschema ref", "d", `{"$ref":"https://json-schema.org/draft/2020-12/schema"}`, nil},
		{"empty name", "", `{}`, ErrInvalidSchema},
		{"not json", "e", `{"type":`, ErrInvalidSchema},
		{"trailing data", "f", `{} {}`, ErrInvalidSchema},
		{"bad keyword value", "g", `{"type":5}`, ErrInvalidSchema},
		{"bad regexp", "h", `{"pattern":"("}`, ErrInvalidSchema},
		{"remote ref refused", "i", `{"$ref":"https://example.com/schema.json"}`, ErrInvalidSchema},
		{"relative ref refused", "j", `{"$ref":"other.json"}`, ErrInvalidSchema},
		{"file ref refused", "k", `{"$ref":"file:///etc/passwd"}`, ErrInvalidSchema},
		{"dangling pointer", "l", `{"$ref":"#/$defs/missing"}`, ErrInvalidSchema},
	}
	reg := mustRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reg.Register(tt.tool, []byte(tt.schema))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				if _, ok := reg.Lookup(tt.tool); !ok {
					t.Fatal("not found after Register")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var se *SchemaError
			if !errors.As(err, &se) || se.Tool != tt.tool {
				t.Fatalf("err = %#v, want *SchemaError for %q", err, tt.tool)
			}
			if _, ok := reg.Lookup(tt.tool); ok {
				t.Fatal("failed schema registered")
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		if err := reg.Register("a", []byte(`{}`)); !errors.Is(err, ErrDuplicateTool) {
			t.Fatalf("err = %v, want ErrDuplicateTool", err)
		}
	})
	t.Run("tools sorted", func(t *testing.T) {
		got := strings.Join(reg.Tools(), ",")
		if got != "a,b,c,d" {
			t.Fatalf("Tools() = %s", got)
		}
	})
	t.Run("unknown tool", func(t *testing.T) {
		if err := reg.Validate("nope", []byte(`{}`)); !errors.Is(err, ErrUnknownTool) {
			t.Fatalf("err = %v, want ErrUnknownTool", err)
		}
	})
}

func TestDefaultDraft(t *testing.T) {
	// "prefixItems" exists from 2020-12 on; draft-07 ignores it as unknown.
	schema := []byte(`{"prefixItems":[{"type":"integer"}]}`)
	args := []byte(`["x"]`)
	for _, tt := range []struct {
		draft Draft
		valid bool
	}{{Draft2020, false}, {Draft7, true}} {
		t.Run(tt.draft.String(), func(t *testing.T) {
			reg := mustRegistry(t, WithDefaultDraft(tt.draft))
			if err := reg.Register("t", schema); err != nil {
				t.Fatal(err)
			}
			if err := reg.Validate("t", args); (err == nil) != tt.valid {
				t.Fatalf("Validate = %v, want valid=%v", err, tt.valid)
			}
		})
	}
}

func TestFormatAssertion(t *testing.T) {
	schema := []byte(`{"properties":{"d":{"type":"string","format":"date"}}}`)
	args := []byte(`{"d":"not a date"}`)
	for _, assert := range []bool{false, true} {
		var opts []RegistryOption
		if assert {
			opts = append(opts, WithFormatAssertion())
		}
		reg := mustRegistry(t, opts...)
		if err := reg.Register("t", schema); err != nil {
			t.Fatal(err)
		}
		if err := reg.Validate("t", args); (err != nil) != assert {
			t.Fatalf("assert=%v: Validate = %v", assert, err)
		}
	}
}

// violations renders a ValidationError's list compactly for comparisons.
func violations(err error) string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return "<not a ValidationError: " + errString(err) + ">"
	}
	var b strings.Builder
	for i, v := range ve.Violations {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(v.Path + " " + v.Keyword)
	}
	return b.String()
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestValidateMalformed(t *testing.T) {
	reg := mustRegistry(t)
	if err := reg.Register("search_flights", []byte(benchSchema)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("nested", []byte(`{"type":"object","properties":{"a/b":{"type":"object","properties":{"c~d":{"type":"integer"}}},"list":{"type":"array","items":{"type":"integer"}}}}`)); err != nil {
		t.Fatal(err)
	}
	huge := `{"origin":"` + strings.Repeat("A", DefaultMaxArgsBytes) + `"}`
	tests := []struct {
		name string
		tool string
		args string
		want string // "" means valid
	}{
		{"valid", "search_flights", benchArgs, ""},
		{"valid with spaces", "search_flights", " \n" + benchArgs + "\t ", ""},
		{"wrong types", "search_flights", `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":"2","nonstop":"yes"}`, "/nonstop type | /passengers type"},
		{"number for integer", "search_flights", `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":2.5}`, "/passengers type"},
		{"missing required", "search_flights", `{"origin":"CDG"}`, " required"},
		{"additional property", "search_flights", `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":2,"seat":"12A"}`, " additionalProperties"},
		{"enum", "search_flights", `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":2,"cabin":"coach"}`, "/cabin enum"},
		{"pattern and range", "search_flights", `{"origin":"cdg","destination":"JFK","date":"2026-12-24","passengers":10}`, "/origin pattern | /passengers maximum"},
		{"array items", "search_flights", `{"origin":"CDG","destination":"JFK","date":"2026-12-24","passengers":1,"airlines":["A",3]}`, "/airlines/0 minLength | /airlines/1 type"},
		{"escaped pointer", "nested", `{"a/b":{"c~d":"x"},"list":[1,"2"]}`, "/a~1b/c~0d type | /list/1 type"},
		{"not an object", "search_flights", `["CDG"]`, " type"},
		{"fenced json", "search_flights", "```json\n" + benchArgs + "\n```", " json"},
		{"json in prose", "search_flights", "Sure! " + benchArgs + " Have a nice flight.", " json"},
		{"two objects", "search_flights", benchArgs + benchArgs, " json"},
		{"empty", "search_flights", "", " json"},
		{"only spaces", "search_flights", " \n ", " json"},
		{"truncated", "search_flights", benchArgs[:40], " json"},
		{"bom", "search_flights", "\ufeff" + benchArgs, " json"},
		{"huge", "search_flights", huge, " size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reg.Validate(tt.tool, []byte(tt.args))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidArguments) {
				t.Fatalf("err = %v, want ErrInvalidArguments", err)
			}
			if got := violations(err); got != tt.want {
				t.Fatalf("violations = %q, want %q\n%v", got, tt.want, err)
			}
			if len(err.Error()) > 4096 {
				t.Fatalf("error message is %d bytes", len(err.Error()))
			}
		})
	}
}

func TestValidationErrorBounded(t *testing.T) {
	reg := mustRegistry(t, WithMaxViolations(3), WithMaxMessageBytes(40))
	schema := `{"type":"object","properties":{"list":{"type":"array","items":{"type":"string","enum":["` +
		strings.Repeat("x", 200) + `","y"]}}}}`
	if err := reg.Register("t", []byte(schema)); err != nil {
		t.Fatal(err)
	}
	err := reg.Validate("t", []byte(`{"list":[1,2,3,4,5,6,7,8,9,10,11,12]}`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if len(ve.Violations) != 3 {
		t.Fatalf("got %d violations, want 3", len(ve.Violations))
	}
	// The same document against an uncapped registry gives the total.
	wide := mustRegistry(t, WithMaxViolations(100))
	if err := wide.Register("t", []byte(schema)); err != nil {
		t.Fatal(err)
	}
	var all *ValidationError
	if !errors.As(wide.Validate("t", []byte(`{"list":[1,2,3,4,5,6,7,8,9,10,11,12]}`)), &all) || len(all.Violations) < 12 {
		t.Fatalf("uncapped: %v", all)
	}
	if ve.Omitted != len(all.Violations)-3 {
		t.Fatalf("Omitted = %d, want %d", ve.Omitted, len(all.Violations)-3)
	}
	for i, v := range ve.Violations {
		if v.Path != all.Violations[i].Path || v.Keyword != all.Violations[i].Keyword {
			t.Fatalf("capped list is not a prefix of the full list: %v vs %v", ve.Violations, all.Violations[:3])
		}
	}
	for _, v := range ve.Violations {
		if len(v.Message) > 40 {
			t.Fatalf("message %q longer than 40 bytes", v.Message)
		}
	}
	if !strings.Contains(err.Error(), "more") {
		t.Fatalf("Error() = %q lacks the omitted count", err.Error())
	}
}

func TestValidationOrderStable(t *testing.T) {
	reg := mustRegistry(t)
	if err := reg.Register("search_flights", []byte(benchSchema)); err != nil {
		t.Fatal(err)
	}
	args := []byte(`{"origin":1,"destination":2,"date":3,"passengers":"x","cabin":4,"max_price":"y","nonstop":5,"airlines":6,"z":1,"w":2}`)
	first := reg.Validate("search_flights", args).Error()
	for i := 0; i < 50; i++ {
		if got := reg.Validate("search_flights", args).Error(); got != first {
			t.Fatalf("run %d: %q != %q", i, got, first)
		}
	}
}
