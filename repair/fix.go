package repair

import (
	"bytes"
)

// LocalFix names the deterministic fix CleanArgs applied.
type LocalFix int

// Local fixes.
const (
	// FixNone: nothing was changed.
	FixNone LocalFix = iota + 1
	// FixBOM: a leading UTF-8 byte order mark was removed.
	FixBOM
	// FixExtracted: the single JSON object was taken out of surrounding
	// text: Markdown code fences, prose, or both.
	FixExtracted
	// FixUnquoted: the arguments were a JSON string whose content is a
	// JSON object (double-encoded arguments); the object was taken out.
	FixUnquoted
)

// String returns the fix's name.
func (f LocalFix) String() string {
	switch f {
	case FixNone:
		return "none"
	case FixBOM:
		return "bom"
	case FixExtracted:
		return "extracted"
	case FixUnquoted:
		return "unquoted"
	}
	return "LocalFix(?)"
}

// extractWorkFactor bounds the bytes the object search may scan, as a
// multiple of the input length, so pathological text costs linear time.
const extractWorkFactor = 8

var bom = []byte{0xEF, 0xBB, 0xBF}

// CleanArgs applies the local, deterministic fixes to raw tool arguments
// and returns the cleaned JSON object. It never invents, drops or converts
// a value; the result is either raw itself (trimmed), a sub-slice of raw,
// or the content of a JSON string in raw.
//
// In order:
//  1. A leading UTF-8 BOM and surrounding white space are removed.
//  2. If what is left is one JSON object, it is returned.
//  3. If it is one JSON string whose content (trimmed) is one JSON object,
//     that object is returned (double-encoded arguments).
//  4. If it is not one JSON document, every balanced JSON object in the
//     text is found (this covers Markdown code fences and prose around the
//     object). If exactly one is found, or all found are byte-identical,
//     it is returned. Two different objects are ambiguous: not fixed.
//
// ok is false when no JSON object could be obtained unambiguously, in which
// case fixed is nil and fix is FixNone. Arrays, numbers and other non-object
// documents are never fixed. Nested and partial fixes are not attempted:
// trailing commas, single quotes, comments, unquoted keys and truncated
// output are left to the model, because "fixing" them means guessing.
func CleanArgs(raw []byte) (fixed []byte, fix LocalFix, ok bool) {
	fix = FixNone
	s := raw
	if bytes.HasPrefix(s, bom) {
		s = s[len(bom):]
		fix = FixBOM
	}
	s = trimSpace(s)
	if len(s) == 0 {
		return nil, FixNone, false
	}
	str := string(s)
	if validDocument(str) {
		switch s[0] {
		case '{':
			return s, fix, true
		case '"':
			inner, err := parseJSON(s)
			if err != nil {
				return nil, FixNone, false
			}
			content := trimSpace([]byte(inner.(string)))
			if len(content) > 0 && content[0] == '{' && validDocument(string(content)) {
				return content, FixUnquoted, true
			}
		}
		return nil, FixNone, false
	}
	obj, found := extractObject(str)
	if !found {
		return nil, FixNone, false
	}
	return s[obj[0]:obj[1]], FixExtracted, true
}

// extractObject finds the balanced JSON objects in s and returns the
// bounds of the only one (or of the first when all are identical).
func extractObject(s string) (bounds [2]int, ok bool) {
	budget := extractWorkFactor*len(s) + 1024
	found := false
	i := 0
	for {
		j := indexByteFrom(s, '{', i)
		if j < 0 {
			break
		}
		end, valid := scanJSON(s, j)
		budget -= end - j + 1
		if budget < 0 {
			return bounds, false
		}
		if !valid {
			i = j + 1
			continue
		}
		if found {
			if s[bounds[0]:bounds[1]] != s[j:end] {
				return [2]int{}, false
			}
		} else {
			bounds = [2]int{j, end}
			found = true
		}
		i = end
	}
	return bounds, found
}

func indexByteFrom(s string, c byte, from int) int {
	for k := from; k < len(s); k++ {
		if s[k] == c {
			return k
		}
	}
	return -1
}

// trimSpace removes JSON white space from both ends.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
