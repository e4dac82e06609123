package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// chatSeeds are the seeds of FuzzDecodeChat. Bodies of tens of KiB are
// left to TestDecodeChatLimits: the fuzzer minimizes every new input, which
// for such sizes takes most of a short run.
var chatSeeds = []string{
	`{"prompt":"What is the capital of France?"}`,
	` {"prompt" : "hi"} ` + "\n",
	`{"\u0070rompt":"escaped key"}`,
	`{"prompt":"caf\u00e9 \ud83d\ude00"}`,
	`{"prompt":"\ud800 lone surrogate"}`,
	`{"PROMPT":"case-folded key"}`,
	`{"Prompt":"case-folded key"}`,
	`{"prompt":"a","prompt":"b"}`,
	`{"prompt":"a","\u0070rompt":"b"}`,
	`{"prompt":null}`,
	`{"prompt":"a"}{"prompt":"b"}`,
	`{"prompt":"a"}}`,
	`{"prompt":"a"}]`,
	`{"prompt":"a"} trailing`,
	"{\"prompt\":\"\xff\xfe\"}",
	"{\"prompt\":\"ok\"}\xff",
	`{"prompt":{"nested":"x"}}`,
	`{"prompt":["x"]}`,
	`{"prompt":1}`,
	`{"prompt":"x","extra":1}`,
	`{"prompt":""}`,
	`{}`,
	``,
	`   `,
	`null`,
	`[{"prompt":"x"}]`,
	`"prompt"`,
	`{"prompt":"x"`,
	`{"prompt":"` + strings.Repeat("a", maxPromptBytes) + `"}`,
	`{"prompt":"` + strings.Repeat("a", maxPromptBytes+1) + `"}`,
}

// chatReference is what encoding/json alone says about a body, sharing no
// code with decodeChat. keys is the body decoded as
// map[string]json.RawMessage (nil when that fails: encoding/json keeps the
// last of duplicate keys and matches nothing case-insensitively here).
// canonical reports that the body must be accepted: it is valid UTF-8, at
// most maxChatBodyBytes, and its compact form is exactly
// {"prompt":<string>}, one member spelled "prompt" with no escape, whose
// string is 1 to maxPromptBytes bytes once unescaped.
func chatReference(data []byte) (keys map[string]json.RawMessage, prompt string, canonical bool) {
	if json.Unmarshal(data, &keys) != nil {
		return nil, "", false
	}
	raw, ok := keys["prompt"]
	if !ok || len(keys) != 1 || json.Unmarshal(raw, &prompt) != nil || !bytes.HasPrefix(raw, []byte(`"`)) {
		return keys, "", false
	}
	var c, v bytes.Buffer
	if json.Compact(&c, data) != nil || json.Compact(&v, raw) != nil {
		return keys, prompt, false
	}
	want := `{"prompt":` + v.String() + `}`
	canonical = c.String() == want && utf8.Valid(data) && len(data) <= maxChatBodyBytes &&
		len(prompt) >= 1 && len(prompt) <= maxPromptBytes
	return keys, prompt, canonical
}

// FuzzDecodeChat checks decodeChat against chatReference: an accepted body
// is one object with exactly the key "prompt", whose string (1 to
// maxPromptBytes bytes of valid UTF-8) is what encoding/json reads; a body
// the reference calls canonical is accepted; every error is one of the two
// the handler turns into a 400.
func FuzzDecodeChat(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeChat(bytes.NewReader(data))
		keys, prompt, canonical := chatReference(data)
		if err != nil {
			if !errors.Is(err, errChatBody) && !errors.Is(err, errPromptSize) {
				t.Fatalf("error %v is neither errChatBody nor errPromptSize", err)
			}
			if canonical {
				t.Fatalf("rejected canonical body %q: %v", data, err)
			}
			if errors.Is(err, errPromptSize) && keys == nil {
				t.Fatalf("prompt size error for %q, which is not a JSON object", data)
			}
			return
		}
		if n := len(req.Prompt); n < 1 || n > maxPromptBytes || !utf8.ValidString(req.Prompt) {
			t.Fatalf("accepted a prompt of %d bytes (valid UTF-8: %v)", n, utf8.ValidString(req.Prompt))
		}
		if !utf8.Valid(data) || !json.Valid(data) || len(data) > maxChatBodyBytes {
			t.Fatalf("accepted %q: not one JSON value of valid UTF-8 within %d bytes", data, maxChatBodyBytes)
		}
		if _, ok := keys["prompt"]; !ok || len(keys) != 1 {
			t.Fatalf("accepted %q, whose keys are %v", data, keys)
		}
		if req.Prompt != prompt {
			t.Fatalf("prompt %q, encoding/json reads %q", req.Prompt, prompt)
		}
		// The map hides duplicates; the token stream does not.
		if toks := tokens(data); len(toks) != 4 || toks[1] != "prompt" || toks[2] != prompt {
			t.Fatalf("accepted %q, whose tokens are %q", data, toks)
		}
	})
}

// tokens returns the JSON tokens of data up to the first error.
func tokens(data []byte) []any {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []any
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		out = append(out, tok)
	}
}

// TestDecodeChatLimits checks decodeChat's own read bound, whatever the
// middleware in front: a body of maxChatBodyBytes is read whole, one byte
// more is refused, and the bound leaves room for a longest prompt written
// entirely in \u escapes.
func TestDecodeChatLimits(t *testing.T) {
	pad := func(body string, n int) string { return body + strings.Repeat(" ", n-len(body)) }
	escaped := `{"prompt":"` + strings.Repeat(`\u0001`, maxPromptBytes) + `"}`
	tests := []struct {
		name, body string
		err        error
	}{
		{"body at the bound", pad(`{"prompt":"x"}`, maxChatBodyBytes), nil},
		{"body over the bound", pad(`{"prompt":"x"}`, maxChatBodyBytes+1), errChatBody},
		{"escaped longest prompt", escaped, nil},
		{"escaped prompt one byte too long", `{"prompt":"\u0001` + escaped[len(`{"prompt":"`):], errPromptSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeChat(strings.NewReader(tt.body))
			if tt.err == nil {
				if err != nil || req.Prompt == "" {
					t.Fatalf("prompt of %d bytes, err %v", len(req.Prompt), err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
		})
	}
	if _, err := decodeChat(iotest.ErrReader(errors.New("connection reset"))); !errors.Is(err, errChatBody) {
		t.Errorf("read error: %v", err)
	}
}
