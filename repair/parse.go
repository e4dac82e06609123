package repair

import (
	"encoding/json"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of objects and arrays accepted, the same
// limit encoding/json applies.
const maxDepth = 10000

// maxPooledScratch bounds the scratch capacity a pooled parser keeps.
const maxPooledScratch = 1024

// syntaxError describes why a document is not a single JSON value.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return e.msg + " at offset " + strconv.Itoa(e.offset)
}

// parser decodes one JSON document into the value shapes
// github.com/santhosh-tekuri/jsonschema/v6 validates: map[string]any, []any,
// string, json.Number, bool and nil. It accepts exactly the documents
// jsonschema.UnmarshalJSON accepts and produces equal values (invalid UTF-8
// in strings becomes U+FFFD, duplicate keys keep the last value), which the
// differential fuzz test checks.
//
// All unescaped strings and numbers are substrings of one copy of the
// input, so a document costs one allocation for its text plus one per
// container and per boxed scalar.
type parser struct {
	s     string
	pos   int
	depth int
	build bool
	err   *syntaxError
	// scratch holds the elements of the containers being built; each
	// container copies its part out, so the stack is reused within a parse.
	scratch []any
	keys    []string
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// parseJSON decodes data, which must hold exactly one JSON value.
func parseJSON(data []byte) (any, *syntaxError) {
	p := parserPool.Get().(*parser)
	p.reset(string(data), true)
	v := p.document()
	err := p.err
	// Built containers already cleared their part of the scratch; after an
	// error the pending part is within len.
	clear(p.scratch)
	clear(p.keys)
	p.s = ""
	if cap(p.scratch) > maxPooledScratch || cap(p.keys) > maxPooledScratch {
		return v, err // do not keep large buffers alive in the pool
	}
	parserPool.Put(p)
	return v, err
}

// scanJSON reports whether s[start:] begins with a syntactically valid JSON
// value and where that value ends. It builds nothing.
func scanJSON(s string, start int) (end int, ok bool) {
	var p parser
	p.reset(s, false)
	p.pos = start
	p.value()
	if p.err != nil {
		return p.pos, false
	}
	return p.pos, true
}

// validDocument reports whether s is exactly one JSON value surrounded by
// optional whitespace.
func validDocument(s string) bool {
	var p parser
	p.reset(s, false)
	p.document()
	return p.err == nil
}

func (p *parser) reset(s string, build bool) {
	p.s = s
	p.pos = 0
	p.depth = 0
	p.build = build
	p.err = nil
	p.scratch = p.scratch[:0]
	p.keys = p.keys[:0]
}

func (p *parser) fail(msg string) {
	if p.err == nil {
		p.err = &syntaxError{msg: msg, offset: p.pos}
	}
}

func (p *parser) failChar(context string) {
	if p.pos >= len(p.s) {
		p.fail("unexpected end of JSON input")
		return
	}
	p.fail("invalid character " + quoteChar(p.s[p.pos]) + " " + context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = strconv.Quote(string([]byte{c}))
	}
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser) document() any {
	p.skipSpace()
	if p.pos >= len(p.s) {
		p.fail("unexpected end of JSON input")
		return nil
	}
	v := p.value()
	if p.err != nil {
		return nil
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		p.failChar("after top-level value")
		return nil
	}
	return v
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() any {
	if p.pos >= len(p.s) {
		p.fail("unexpected end of JSON input")
		return nil
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, ok := p.str()
		if !ok || !p.build {
			return nil
		}
		return s
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if !p.number() || !p.build {
			return nil
		}
		return json.Number(p.s[start:p.pos])
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		p.literal("null", nil)
		return nil
	default:
		p.failChar("looking for beginning of value")
		return nil
	}
}

func (p *parser) literal(word string, v any) any {
	if len(p.s)-p.pos >= len(word) && p.s[p.pos:p.pos+len(word)] == word {
		p.pos += len(word)
		return v
	}
	// Find the first offending byte for the message.
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.s) || p.s[p.pos] != word[i] {
			p.failChar("in literal " + word)
			return nil
		}
		p.pos++
	}
	return nil
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.fail("exceeded max depth")
		return false
	}
	return true
}

func (p *parser) object() any {
	if !p.enter() {
		return nil
	}
	p.pos++ // '{'
	base := len(p.scratch)
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		p.depth--
		if !p.build {
			return nil
		}
		return map[string]any{}
	}
	for {
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			p.failChar("looking for beginning of object key string")
			return nil
		}
		k, ok := p.str()
		if !ok {
			return nil
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			p.failChar("after object key")
			return nil
		}
		p.pos++
		p.skipSpace()
		v := p.value()
		if p.err != nil {
			return nil
		}
		if p.build {
			p.keys = append(p.keys, k)
			p.scratch = append(p.scratch, v)
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			p.fail("unexpected end of JSON input")
			return nil
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
			continue
		case '}':
			p.pos++
			p.depth--
			if !p.build {
				return nil
			}
			n := len(p.scratch) - base
			m := make(map[string]any, n)
			kbase := len(p.keys) - n
			for i := 0; i < n; i++ {
				m[p.keys[kbase+i]] = p.scratch[base+i]
			}
			clear(p.scratch[base:])
			p.scratch = p.scratch[:base]
			p.keys = p.keys[:kbase]
			return m
		default:
			p.failChar("after object key:value pair")
			return nil
		}
	}
}

func (p *parser) array() any {
	if !p.enter() {
		return nil
	}
	p.pos++ // '['
	base := len(p.scratch)
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		p.depth--
		if !p.build {
			return nil
		}
		return []any{}
	}
	for {
		v := p.value()
		if p.err != nil {
			return nil
		}
		if p.build {
			p.scratch = append(p.scratch, v)
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			p.fail("unexpected end of JSON input")
			return nil
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
			continue
		case ']':
			p.pos++
			p.depth--
			if !p.build {
				return nil
			}
			a := make([]any, len(p.scratch)-base)
			copy(a, p.scratch[base:])
			clear(p.scratch[base:])
			p.scratch = p.scratch[:base]
			return a
		default:
			p.failChar("after array element")
			return nil
		}
	}
}

// str reads a string starting at the opening quote. Without escapes or
// invalid UTF-8 the result is a substring of the input.
func (p *parser) str() (string, bool) {
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			s := p.s[start:p.pos]
			p.pos++
			return s, true
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			p.failChar("in string literal")
			return "", false
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return p.strSlow(start)
			}
			p.pos += size
		}
	}
	p.fail("unexpected end of JSON input")
	return "", false
}

// strSlow decodes a string with escapes or invalid UTF-8 the way
// encoding/json does.
func (p *parser) strSlow(start int) (string, bool) {
	var b []byte
	if p.build {
		b = make([]byte, 0, p.pos-start+16)
		b = append(b, p.s[start:p.pos]...)
	}
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), true
		case c == '\\':
			p.pos++
			if p.pos >= len(p.s) {
				p.fail("unexpected end of JSON input")
				return "", false
			}
			e := p.s[p.pos]
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
				p.pos++
			case 'b':
				b = append(b, '\b')
				p.pos++
			case 'f':
				b = append(b, '\f')
				p.pos++
			case 'n':
				b = append(b, '\n')
				p.pos++
			case 'r':
				b = append(b, '\r')
				p.pos++
			case 't':
				b = append(b, '\t')
				p.pos++
			case 'u':
				p.pos++
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					r2, ok2 := p.peekEscapedU()
					if ok2 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							p.pos += 6
							b = utf8.AppendRune(b, d)
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				p.failChar("in string escape code")
				return "", false
			}
		case c < 0x20:
			p.failChar("in string literal")
			return "", false
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			p.pos += size
			b = utf8.AppendRune(b, r)
		}
	}
	p.fail("unexpected end of JSON input")
	return "", false
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func (p *parser) hex4() (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		if p.pos >= len(p.s) {
			p.fail("unexpected end of JSON input")
			return 0, false
		}
		h := hexVal(p.s[p.pos])
		if h < 0 {
			p.failChar("in \\u hexadecimal character escape")
			return 0, false
		}
		r = r<<4 | h
		p.pos++
	}
	return r, true
}

// peekEscapedU reads a following \uXXXX without consuming it.
func (p *parser) peekEscapedU() (rune, bool) {
	s := p.s[p.pos:]
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for i := 2; i < 6; i++ {
		h := hexVal(s[i])
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
	}
	return r, true
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() bool {
	s := p.s
	if s[p.pos] == '-' {
		p.pos++
	}
	if p.pos >= len(s) {
		p.fail("unexpected end of JSON input")
		return false
	}
	switch c := s[p.pos]; {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		p.pos++
		for p.pos < len(s) && s[p.pos] >= '0' && s[p.pos] <= '9' {
			p.pos++
		}
	default:
		p.failChar("in numeric literal")
		return false
	}
	if p.pos < len(s) && s[p.pos] == '.' {
		p.pos++
		if !p.digits() {
			return false
		}
	}
	if p.pos < len(s) && (s[p.pos] == 'e' || s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(s) && (s[p.pos] == '+' || s[p.pos] == '-') {
			p.pos++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

func (p *parser) digits() bool {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		p.failChar("in numeric literal")
		return false
	}
	return true
}
