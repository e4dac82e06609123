package httpmw

import "bytes"

// scanner walks one JSON document incrementally and records, for a fixed
// set of top-level object keys, where each member's value starts and ends.
// It does not decode or validate values; it only tracks enough structure
// (strings, escapes, nesting) to find the top-level members. Keys are
// compared by their raw bytes, so a key spelled with escapes never matches.
//
// Feeding a document in one call or split at any byte boundaries yields the
// same result. A scanner is not safe for concurrent use.
type scanner struct {
	keys    [maxKeys]string // wanted top-level keys
	nkeys   int
	capture bool // copy wanted values into member.val as they stream by
	capMax  int  // per-value capture limit

	off    int // absolute offset of the next byte
	endOff int // absolute offset just past the closing '}' once done
	state  uint8

	key     [maxKeyLen]byte
	keyLen  int
	keyOver bool // key longer than maxKeyLen or contains an escape

	cur    int   // index into keys of the member being read, -1 if unwanted
	vstart int   // absolute offset of the current value
	kind   uint8 // kind of the current value
	depth  int   // nesting depth inside a container value
	inStr  bool  // inside a string within a container value
	esc    bool  // the previous byte was a backslash inside a string
	strEsc bool  // the current key contains an escape

	members [maxKeys]member
}

// member is what the scanner recorded for one wanted key (the last
// occurrence wins, as with encoding/json).
type member struct {
	found      bool
	start, end int    // absolute offsets of the raw value
	val        []byte // captured raw value (capture mode only)
	over       bool   // the captured value exceeded capMax
}

const (
	maxKeyLen = 32
	maxKeys   = 4
)

const (
	stStart    uint8 = iota // before the top-level '{'
	stFirstKey              // after '{': a key or '}'
	stKey                   // after ',': a key
	stInKey                 // inside a key string
	stColon                 // after a key: ':'
	stValue                 // after ':': the start of a value
	stInValue               // inside a value
	stAfter                 // after a value: ',' or '}'
	stDone                  // the top-level object is closed
	stBad                   // not a JSON object we understand; ignore the rest
)

const (
	kindString uint8 = iota + 1
	kindContainer
	kindScalar
)

func newScanner(capture bool, capMax int, keys ...string) scanner {
	s := scanner{capture: capture, capMax: capMax}
	s.nkeys = copy(s.keys[:], keys)
	s.reset()
	return s
}

// reset prepares the scanner for a new document, keeping capture buffers.
func (s *scanner) reset() {
	for i := range s.members {
		s.members[i] = member{val: s.members[i].val[:0]}
	}
	s.off, s.endOff, s.state, s.keyLen, s.keyOver, s.cur = 0, 0, stStart, 0, false, -1
	s.kind, s.depth, s.inStr, s.esc = 0, 0, false, false
}

// done reports whether the top-level object was closed.
func (s *scanner) done() bool { return s.state == stDone }

// whole reports whether doc, fed in full, is exactly one object with
// nothing but whitespace after it.
func (s *scanner) whole(doc []byte) bool {
	return s.state == stDone && len(bytes.TrimSpace(doc[s.endOff:])) == 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipString advances over string content in p starting at i and returns the
// index just past the closing quote, or len(p) when the string continues in
// the next feed. s.esc carries a pending escape across feeds.
func (s *scanner) skipString(p []byte, i int) (int, bool) {
	if s.esc {
		s.esc, s.strEsc = false, true
		if i >= len(p) {
			s.esc = true
			return i, false
		}
		i++
	}
	// Short strings (keys, ids, numbers of tokens as text) are faster to
	// walk byte by byte than to hand to IndexByte twice.
	for end := min(len(p), i+24); i < end; i++ {
		switch p[i] {
		case '"':
			return i + 1, true
		case '\\':
			s.strEsc = true
			if i+1 >= len(p) {
				s.esc = true
				return len(p), false
			}
			i++ // the escaped byte
		}
	}
	for i < len(p) {
		q := bytes.IndexByte(p[i:], '"')
		seg := p[i:]
		if q >= 0 {
			seg = p[i : i+q]
		}
		if b := bytes.IndexByte(seg, '\\'); b >= 0 {
			s.strEsc = true
			i += b + 1
			if i >= len(p) {
				s.esc = true
				return i, false
			}
			i++ // the escaped byte
			continue
		}
		if q < 0 {
			return len(p), false
		}
		return i + q + 1, true
	}
	return i, false
}

// feed consumes the next part of the document.
func (s *scanner) feed(p []byte) {
	base := s.off
	s.off += len(p)
	i := 0
	for i < len(p) {
		switch s.state {
		case stDone, stBad:
			return
		case stStart:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == '{':
				s.state = stFirstKey
				i++
			default:
				s.state = stBad
			}
		case stFirstKey, stKey:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == '"':
				s.state, s.keyLen, s.keyOver, s.strEsc = stInKey, 0, false, false
				i++
			case c == '}' && s.state == stFirstKey:
				s.state, s.endOff = stDone, base+i+1
				i++
			default:
				s.state = stBad
			}
		case stInKey:
			start := i
			end, closed := s.skipString(p, i)
			raw := p[start:end]
			if closed {
				raw = raw[:len(raw)-1]
			}
			if s.strEsc || s.keyLen+len(raw) > maxKeyLen {
				s.keyOver = true
			} else if !closed || s.keyLen > 0 {
				s.keyLen += copy(s.key[s.keyLen:], raw)
				raw = s.key[:s.keyLen]
			}
			i = end
			if closed {
				s.cur = -1
				if !s.keyOver {
					for k, want := range s.keys[:s.nkeys] {
						if want == string(raw) {
							s.cur = k
							break
						}
					}
				}
				s.state = stColon
			}
		case stColon:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == ':':
				s.state = stValue
				i++
			default:
				s.state = stBad
			}
		case stValue:
			c := p[i]
			if isSpace(c) {
				i++
				continue
			}
			switch c {
			case '"':
				s.kind = kindString
			case '{', '[':
				s.kind, s.depth, s.inStr = kindContainer, 0, false
			case '}', ']', ',', ':':
				s.state = stBad
				continue
			default:
				s.kind = kindScalar
			}
			s.vstart = base + i
			if s.cur >= 0 {
				m := &s.members[s.cur]
				m.val, m.over = m.val[:0], false
			}
			s.state = stInValue
			if s.kind == kindString {
				i++ // opening quote
				if s.cur >= 0 && s.capture {
					s.keep(p[i-1 : i])
				}
			}
		case stInValue:
			start := i
			var ended bool
			i, ended = s.value(p, i)
			if s.cur >= 0 && s.capture {
				s.keep(p[start:i])
			}
			if ended {
				if s.cur >= 0 {
					m := &s.members[s.cur]
					m.found, m.start, m.end = true, s.vstart, base+i
				}
				s.state = stAfter
			}
		case stAfter:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == ',':
				s.state = stKey
				i++
			case c == '}':
				s.state, s.endOff = stDone, base+i+1
				i++
			default:
				s.state = stBad
			}
		}
	}
}

// value advances through the current member value and reports whether it
// ended; the returned index is just past its last byte.
func (s *scanner) value(p []byte, i int) (int, bool) {
	switch s.kind {
	case kindString:
		return s.skipString(p, i)
	case kindScalar:
		for ; i < len(p); i++ {
			if c := p[i]; isSpace(c) || c == ',' || c == '}' || c == ']' {
				return i, true
			}
		}
		return i, false
	}
	for i < len(p) {
		if s.inStr || s.esc {
			var closed bool
			i, closed = s.skipString(p, i)
			if closed {
				s.inStr = false
			}
			continue
		}
		switch p[i] {
		case '"':
			s.inStr = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth == 0 {
				return i + 1, true
			}
		}
		i++
	}
	return i, false
}

// keep appends b to the capture buffer of the current member.
func (s *scanner) keep(b []byte) {
	m := &s.members[s.cur]
	if m.over || len(b) == 0 {
		return
	}
	if len(m.val)+len(b) > s.capMax {
		m.over = true
		m.val = m.val[:0]
		return
	}
	m.val = append(m.val, b...)
}

// Whole-buffer fast path. fastMember reads a complete document held in
// memory and accepts only the layouts it can be sure of. Where it answers
// (ok), the members are those the scanner finds; anywhere else the caller
// leaves the document to the scanner.

// closeQuote returns the index of the quote that closes the string whose
// content starts at b[i], or -1 when it does not close within b. As in the
// scanner, a backslash escapes the byte after it, whatever it is.
func closeQuote(b []byte, i int) int {
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		n := 0 // backslashes right before the quote
		for n < q-i && b[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// skipSpace returns the index of the first non-space byte of b at or after
// i (len(b) when there is none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// fastValue returns the end (just past the last byte) of the value that
// starts at b[i] (not a space), with the scanner's boundaries: a string up
// to its closing quote, a container up to the bracket that brings the depth
// back to zero (brackets of either kind count alike, as in the scanner), a
// scalar up to a space, ',', '}' or ']'. It reports false where the
// scanner would not find a value there or the value does not end within b.
func fastValue(b []byte, i int) (int, bool) {
	switch b[i] {
	case '"':
		q := closeQuote(b, i+1)
		if q < 0 {
			return 0, false
		}
		return q + 1, true
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				q := closeQuote(b, i+1)
				if q < 0 {
					return 0, false
				}
				i = q
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	case '}', ']', ',', ':':
		return 0, false
	}
	for ; i < len(b); i++ {
		if c := b[i]; isSpace(c) || c == ',' || c == '}' || c == ']' {
			return i, true
		}
	}
	return 0, false
}

// fastMember reads the top-level member of doc that starts at i (the
// value 0 starts the walk), where doc must be exactly one object with
// nothing but spaces around it. It returns the
// raw key (without quotes) of the member, where its raw value starts and
// ends in doc, and where the next
// one starts (-1 after the last), with more true; or, at the end of the
// object, more false and ok true. ok false means unsure: doc is not of that layout.
func fastMember(doc []byte, i int) (key []byte, vs, ve, next int, more, ok bool) {
	if i < 0 {
		return nil, 0, 0, 0, false, true
	}
	if i == 0 {
		i = skipSpace(doc, 0)
		if i >= len(doc) || doc[i] != '{' {
			return nil, 0, 0, 0, false, false
		}
		i = skipSpace(doc, i+1)
		if i < len(doc) && doc[i] == '}' {
			return nil, 0, 0, 0, false, skipSpace(doc, i+1) == len(doc)
		}
	}
	if i >= len(doc) || doc[i] != '"' {
		return nil, 0, 0, 0, false, false
	}
	q := closeQuote(doc, i+1)
	if q < 0 {
		return nil, 0, 0, 0, false, false
	}
	// A key spelled with an escape matches no wanted key, as in the
	// scanner: the raw bytes are compared, and no wanted key has a
	// backslash.
	key = doc[i+1 : q]
	i = skipSpace(doc, q+1)
	if i >= len(doc) || doc[i] != ':' {
		return nil, 0, 0, 0, false, false
	}
	i = skipSpace(doc, i+1)
	if i >= len(doc) {
		return nil, 0, 0, 0, false, false
	}
	end, ok := fastValue(doc, i)
	if !ok {
		return nil, 0, 0, 0, false, false
	}
	vs, ve = i, end
	i = skipSpace(doc, end)
	if i >= len(doc) {
		return nil, 0, 0, 0, false, false
	}
	switch doc[i] {
	case ',':
		// A member follows: the next call checks it starts with a key.
		return key, vs, ve, skipSpace(doc, i+1), true, true
	case '}':
		if skipSpace(doc, i+1) != len(doc) {
			return nil, 0, 0, 0, false, false
		}
		// The last member: the next call, at -1, ends the walk.
		return key, vs, ve, -1, true, true
	}
	return nil, 0, 0, 0, false, false
}
