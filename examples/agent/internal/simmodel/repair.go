package simmodel

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Markers of the repair package's prompt.
const (
	markTool   = "Tool: "
	markSchema = "JSON Schema of its arguments:\n"
	markArgs   = "Arguments to correct:\n"
)

var argsEnd = []string{"\nValidation errors", "\nThe tool rejected these arguments:", "\nReply with the corrected JSON object only."}

// parseRepairPrompt recognises a request to correct tool arguments and
// returns the tool, its schema and the arguments to correct.
func parseRepairPrompt(p string) (tool string, schema map[string]any, args string, ok bool) {
	ai := strings.Index(p, markArgs)
	ti := strings.Index(p, markTool)
	if ai < 0 || ti < 0 || ti > ai {
		return "", nil, "", false
	}
	tool, _, _ = strings.Cut(p[ti+len(markTool):], "\n")
	if si := strings.Index(p, markSchema); si >= 0 && si < ai {
		line, _, _ := strings.Cut(p[si+len(markSchema):], "\n")
		_ = json.Unmarshal([]byte(line), &schema)
	}
	rest := p[ai+len(markArgs):]
	end := len(rest)
	for _, m := range argsEnd {
		if i := strings.Index(rest, m); i >= 0 && i < end {
			end = i
		}
	}
	return strings.TrimSpace(tool), schema, rest[:end], true
}

var (
	trailingCommaRE = regexp.MustCompile(`,\s*([}\]])`)
	pairRE          = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*("(?:[^"\\]|\\.)*("|$)|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)`)
)

// repairArgs returns arguments that fit schema, keeping what broken still
// says.
func repairArgs(_ string, schema map[string]any, broken string) string {
	got := salvage(broken, 0)
	props, _ := schema["properties"].(map[string]any)
	out := map[string]any{}
	for name, raw := range props {
		ps, _ := raw.(map[string]any)
		if v, ok := got[name]; ok {
			if c, ok := coerce(v, ps); ok {
				out[name] = c
			}
		}
	}
	if props == nil { // no schema: keep what was salvaged
		for k, v := range got {
			out[k] = v
		}
	}
	req, _ := schema["required"].([]any)
	for _, r := range req {
		name, _ := r.(string)
		if _, ok := out[name]; ok || name == "" {
			continue
		}
		ps, _ := props[name].(map[string]any)
		out[name] = filler(ps)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// salvage reads as much of a broken JSON object as it can.
func salvage(s string, depth int) map[string]any {
	s = strings.TrimSpace(strings.TrimPrefix(s, "\uFEFF"))
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) == nil && m != nil {
		return m
	}
	var inner string
	if depth < 2 && json.Unmarshal([]byte(s), &inner) == nil {
		return salvage(inner, depth+1)
	}
	if i, j := strings.Index(s, "{"), strings.LastIndex(s, "}"); i >= 0 && j > i {
		if json.Unmarshal([]byte(s[i:j+1]), &m) == nil && m != nil {
			return m
		}
	}
	norm := s
	if !strings.Contains(norm, `"`) {
		norm = strings.ReplaceAll(norm, "'", `"`)
	}
	norm = trailingCommaRE.ReplaceAllString(norm, "$1")
	if i, j := strings.Index(norm, "{"), strings.LastIndex(norm, "}"); i >= 0 && j > i {
		if json.Unmarshal([]byte(norm[i:j+1]), &m) == nil && m != nil {
			return m
		}
	}
	m = map[string]any{}
	for _, p := range pairRE.FindAllStringSubmatch(norm, -1) {
		v := p[2]
		switch {
		case strings.HasPrefix(v, `"`):
			if p[3] == "" { // truncated string: keep what is there
				v += `"`
			}
			var str string
			if json.Unmarshal([]byte(v), &str) == nil {
				m[p[1]] = str
			}
		case v == "null":
		case v == "true" || v == "false":
			m[p[1]] = v == "true"
		default:
			// 1e999 does not fit: leave it out rather than keep an
			// infinity, which no JSON can carry.
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				m[p[1]] = f
			}
		}
	}
	return m
}

// coerce converts v to the type ps asks for, within its bounds.
func coerce(v any, ps map[string]any) (any, bool) {
	typ, _ := ps["type"].(string)
	var out any
	switch typ {
	case "integer", "number":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, false
			}
			f = p
		default:
			return nil, false
		}
		if typ == "integer" {
			f = math.Round(f)
		}
		if lo, ok := ps["minimum"].(float64); ok && f < lo {
			f = lo
		}
		if hi, ok := ps["maximum"].(float64); ok && f > hi {
			f = hi
		}
		if typ == "integer" {
			if math.Abs(f) >= 1<<63 {
				return nil, false // no int64 holds it
			}
			out = int64(f)
		} else {
			out = f
		}
	case "string":
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		default:
			return nil, false
		}
		// JSON Schema counts characters (runes); a negative bound is not
		// one.
		n := utf8.RuneCountInString(s)
		if hi, ok := ps["maxLength"].(float64); ok && hi >= 0 && float64(n) > hi {
			n = int(hi) // below n, so it fits an int
			s = firstRunes(s, n)
		}
		if lo, ok := ps["minLength"].(float64); ok && float64(n) < lo {
			return nil, false
		}
		out = s
	case "boolean":
		switch x := v.(type) {
		case bool:
			out = x
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, false
			}
			out = b
		default:
			return nil, false
		}
	default:
		out = v
	}
	if enum, ok := ps["enum"].([]any); ok && len(enum) > 0 {
		for _, e := range enum {
			if e == out {
				return out, true
			}
		}
		return nil, false
	}
	return out, true
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// filler returns a value for a required property that could not be
// recovered: the schema's default, first example, first enum value, or the
// smallest value its type and bounds allow.
func filler(ps map[string]any) any {
	if d, ok := ps["default"]; ok {
		return d
	}
	if ex, ok := ps["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	if enum, ok := ps["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch ps["type"] {
	case "integer", "number":
		if lo, ok := ps["minimum"].(float64); ok {
			return lo
		}
		return 1
	case "boolean":
		return false
	case "array":
		return []any{}
	case "object":
		return map[string]any{}
	}
	// A string: "unknown", cut to maxLength characters or padded to
	// minLength (within reason).
	s := "unknown"
	if hi, ok := ps["maxLength"].(float64); ok && hi >= 0 && hi < float64(len(s)) {
		s = s[:int(hi)]
	}
	if lo, ok := ps["minLength"].(float64); ok && lo > float64(len(s)) && lo <= maxFillerRunes {
		s += strings.Repeat("?", int(math.Ceil(lo))-len(s))
	}
	return s
}

// maxFillerRunes bounds the string filler pads to a minLength.
const maxFillerRunes = 1024
