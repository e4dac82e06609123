package chaos

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
)

// numCorruptions is the number of ways corrupt knows.
const numCorruptions = 6

// corrupt applies the i-th way an LLM or a tool gets JSON wrong.
func corrupt(i int, p []byte, r *rand.Rand) []byte {
	switch i {
	case 0: // Truncated output, as when max_tokens cuts a completion short.
		if len(p) < 2 {
			return append(bytes.Clone(p), '{')
		}
		return bytes.Clone(p[:1+r.IntN(len(p)-1)])
	case 1: // The JSON wrapped in a Markdown code fence.
		out := append([]byte("```json\n"), p...)
		return append(out, "\n```"...)
	case 2: // A trailing comma before the last closing bracket.
		j := bytes.LastIndexAny(p, "}]")
		if j < 0 {
			return append(bytes.Clone(p), ',')
		}
		out := append(bytes.Clone(p[:j]), ',')
		return append(out, p[j:]...)
	case 3: // Single quotes instead of double quotes.
		return bytes.ReplaceAll(p, []byte(`"`), []byte(`'`))
	case 4: // A chatty preamble before the JSON.
		return append([]byte("Sure! Here are the arguments:\n"), p...)
	default: // Encoded a second time, as a JSON string: it still parses
		// but no longer fits an object schema.
		out, _ := json.Marshal(string(p))
		return out
	}
}

// Corrupt returns a corrupted copy of payload, as a misbehaving model or
// tool would produce it: truncated, wrapped in a Markdown fence, with a
// trailing comma, single-quoted, preceded by prose, or encoded a second time
// as a JSON string. The choice is drawn from r, so a given source gives a
// given corruption.
//
// The result always differs from payload and is never a well-formed JSON
// object: either it does not parse or it no longer fits a schema that
// requires an object (tool arguments always do). payload is not modified.
func Corrupt(payload []byte, r *rand.Rand) []byte {
	out := corrupt(r.IntN(numCorruptions), payload, r)
	if bytes.Equal(out, payload) || isJSONObject(out) {
		// The drawn corruption left the payload intact or still an object
		// (single quotes in a payload without any quote): a stray trailing
		// comma never parses.
		out = append(bytes.Clone(out), ',')
	}
	return out
}

// isJSONObject reports whether p is a single well-formed JSON object.
func isJSONObject(p []byte) bool {
	t := bytes.TrimLeft(p, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(p)
}
