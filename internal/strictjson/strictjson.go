package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays Check accepts; the
// top-level object is depth 1.
const MaxDepth = 16

// ErrNotStrict is matched by every error Check returns.
var ErrNotStrict = errors.New("not strict JSON")

// frame is one open object or array during Check's walk.
type frame struct {
	object    bool
	expectKey bool
	lastKey   string // the key of the member whose value comes next
	keys      map[string]struct{}
}

// Check returns nil when data is exactly one JSON object, with only white
// space around it, that has:
//
//   - valid UTF-8 throughout;
//   - top-level keys that known accepts, compared exactly (after JSON
//     unescaping, so "\u0070rompt" is "prompt"); a nil known accepts any key;
//   - no duplicate key in any object;
//   - no null value at any depth;
//   - no nesting deeper than MaxDepth.
//
// Otherwise it returns an error matching ErrNotStrict that says why. Check
// only judges the document's shape; the caller decodes it afterwards (with
// encoding/json, which then has nothing left to guess) and checks types
// and ranges.
func Check(data []byte, known func(key string) bool) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: empty document", ErrNotStrict)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not valid UTF-8", ErrNotStrict)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // the shape only: no number is converted
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: malformed JSON: %v", ErrNotStrict, err)
		}
		if len(stack) == 0 {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return fmt.Errorf("%w: not a JSON object", ErrNotStrict)
			}
			stack = append(stack, frame{object: true, expectKey: true, keys: map[string]struct{}{}})
			continue
		}
		top := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				break
			}
			continue
		}
		if top.object && top.expectKey {
			key, _ := tok.(string) // the decoder only returns strings here
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("%w: duplicate key %q", ErrNotStrict, key)
			}
			if len(stack) == 1 && known != nil && !known(key) {
				return fmt.Errorf("%w: unknown field %q", ErrNotStrict, key)
			}
			top.keys[key] = struct{}{}
			top.lastKey = key
			top.expectKey = false
			continue
		}
		// A value.
		if top.object {
			top.expectKey = true
		}
		switch v := tok.(type) {
		case nil:
			if top.object {
				return fmt.Errorf("%w: field %q is null", ErrNotStrict, top.lastKey)
			}
			return fmt.Errorf("%w: null in an array", ErrNotStrict)
		case json.Delim: // '{' or '['
			if len(stack) == MaxDepth {
				return fmt.Errorf("%w: nested deeper than %d", ErrNotStrict, MaxDepth)
			}
			f := frame{object: v == '{', expectKey: v == '{'}
			if f.object {
				f.keys = map[string]struct{}{}
			}
			stack = append(stack, f)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrNotStrict)
	}
	return nil
}

// Decode checks data with Check and then decodes it into v with
// encoding/json, which then has nothing left to guess. An error from Check
// matches ErrNotStrict; an error from decoding (a value of the wrong type,
// say) is encoding/json's own, so errors.As finds *json.UnmarshalTypeError.
func Decode(data []byte, known func(key string) bool, v any) error {
	if err := Check(data, known); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
