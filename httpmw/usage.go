package httpmw

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
)

// tokens is the token usage read from one response, in the shape of the
// OpenAI chat completions usage object.
type tokens struct {
	input  int64 // prompt_tokens: all input tokens, cached ones included
	cached int64 // prompt_tokens_details.cached_tokens, at most input
	output int64 // completion_tokens
}

const (
	keyUsage         = "usage"
	keyModel         = "model"
	keyPromptTokens  = "prompt_tokens"
	keyComplTokens   = "completion_tokens"
	keyPromptDetails = "prompt_tokens_details"
	keyCachedTokens  = "cached_tokens"
	keyStream        = "stream"
	keyStreamOptions = "stream_options"
	keyIncludeUsage  = "include_usage"
	ssePrefix        = "data:"
	usageMarker      = `_tokens"`
	literalNull      = "null"
	literalTrue      = "true"
)

const (
	maxUsageBytes = 4 << 10 // largest usage object read
	maxModelBytes = 256     // longest model name read from a response
	maxSSELine    = 1 << 20 // longest SSE line kept to look for usage
)

// parseUsage decodes a raw usage object. It reports false unless the value
// is an object with at least one of prompt_tokens or completion_tokens as a
// non-negative integer, and every token field present is one.
func parseUsage(raw []byte) (tokens, bool) {
	if t, ok, sure := fastUsage(raw); sure {
		return t, ok
	}
	return scanUsage(raw)
}

// scanUsage is parseUsage with the scanner, for any layout.
func scanUsage(raw []byte) (tokens, bool) {
	s := newScanner(false, 0, keyPromptTokens, keyComplTokens, keyPromptDetails)
	s.feed(raw)
	if !s.whole(raw) {
		return tokens{}, false
	}
	var t tokens
	var ok1, ok2 bool
	if m := s.members[0]; m.found {
		v, ok := parseCount(raw[m.start:m.end])
		if !ok {
			return tokens{}, false
		}
		t.input, ok1 = v, true
	}
	if m := s.members[1]; m.found {
		v, ok := parseCount(raw[m.start:m.end])
		if !ok {
			return tokens{}, false
		}
		t.output, ok2 = v, true
	}
	if !ok1 && !ok2 {
		return tokens{}, false
	}
	if m := s.members[2]; m.found {
		d := raw[m.start:m.end]
		if string(d) != literalNull {
			ds := newScanner(false, 0, keyCachedTokens)
			ds.feed(d)
			if !ds.whole(d) {
				return tokens{}, false
			}
			if c := ds.members[0]; c.found {
				v, ok := parseCount(d[c.start:c.end])
				if !ok {
					return tokens{}, false
				}
				t.cached = min(v, t.input)
			}
		}
	}
	return t, true
}

// parseCount parses a JSON integer token count (null counts as zero).
func parseCount(b []byte) (int64, bool) {
	if string(b) == literalNull {
		return 0, true
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	return n, true
}

// modelBytes is parseModel without making a string: the name's bytes
// within raw.
func modelBytes(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 || bytes.IndexByte(in, '"') >= 0 {
		return nil, false
	}
	return in, true
}

// usageResult is what a usageReader learned by the time the body ended.
type usageResult struct {
	tokens   tokens
	found    bool   // a usage object was read
	model    string // the response's model field, when read
	complete bool   // the body was read to io.EOF
	err      error  // a read error other than io.EOF
}

// Inline capture space of a usageReader: enough for the usage object and
// model of a JSON response, or for the last data line and the unterminated
// line of a stream, of the usual sizes. Longer values move to the heap.
const (
	inlineBytes    = 1024
	inlineUsage    = 768 // JSON: the usage value; the model value gets the rest
	inlineSSESplit = inlineBytes / 2
)

// usageReader passes a response body through to the caller unchanged while
// reading the token usage from it:
//
//   - JSON: the top-level usage object, found by an incremental scanner that
//     copies nothing but the usage value (bounded by maxUsageBytes);
//   - SSE: the last data event of the stream (OpenAI sends the usage chunk
//     last, just before "data: [DONE]", when stream_options.include_usage
//     is set). Each read costs a look at its last line or two: the reader
//     keeps a copy of the last complete data line and of the unterminated
//     line at the end of the read while it may be a data line, both bounded
//     by maxSSELine, and parses the kept line once, when the body ends.
//
// finish is called exactly once: at io.EOF, at a read error, or at Close.
type usageReader struct {
	body   io.ReadCloser
	sse    bool
	finish func(usageResult)
	sink   *inflight // the Transport's call, told instead of finish when set
	names  *interner // makes the model name a string; nil: a new string

	mu   sync.Mutex // Read and Close may race when the caller closes from another goroutine
	once bool
	res  usageResult

	js scanner // JSON mode

	// SSE: two line buffers, used at their full length; bufs[pi] holds the
	// unterminated line at the end of the last read (its first pendN
	// bytes), while kept, and bufs[pi^1] the last complete data line (its
	// first lastN bytes). Lines are copied into them and the two swap roles
	// by flipping pi, so a read writes no pointer (no write barrier) unless
	// a buffer grows.
	bufs     [2][]byte
	pi       uint8
	pendN    int
	lastN    int
	pendSkip bool // SSE: the unterminated line is not a data line; its bytes are not kept
	pendBig  bool // SSE: that line outgrew maxSSELine; it is dropped
	pendData bool // SSE: the dropped line was a data line
	lastBig  bool // SSE: the last data line outgrew maxSSELine

	inline [inlineBytes]byte // first backing of js captures or of pend and last
}

func newUsageReader(body io.ReadCloser, sse bool, finish func(usageResult)) *usageReader {
	r := &usageReader{}
	r.init(body, sse)
	r.finish = finish
	return r
}

func (r *usageReader) init(body io.ReadCloser, sse bool) {
	r.body, r.sse = body, sse
	if sse {
		r.bufs[0] = r.inline[:inlineSSESplit:inlineSSESplit]
		r.bufs[1] = r.inline[inlineSSESplit:inlineBytes:inlineBytes]
		return
	}
	r.js = newScanner(true, maxUsageBytes, keyUsage, keyModel)
	r.js.members[0].val = r.inline[:0:inlineUsage]
	r.js.members[1].val = r.inline[inlineUsage:inlineUsage:inlineBytes]
}

// Read reads from the body and looks at what passed for usage.
func (r *usageReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.mu.Lock()
	if !r.once {
		if n > 0 {
			if r.sse {
				r.scanSSE(p[:n])
			} else {
				r.js.feed(p[:n])
			}
		}
		if err != nil {
			if err == io.EOF {
				r.res.complete = true
			} else {
				r.res.err = err
			}
			r.doneLocked()
		}
	}
	r.mu.Unlock()
	return n, err
}

// Close closes the body; a body closed before io.EOF still reports what
// was read up to then.
func (r *usageReader) Close() error {
	err := r.body.Close()
	r.mu.Lock()
	if !r.once {
		r.doneLocked()
	}
	r.mu.Unlock()
	return err
}

func (r *usageReader) doneLocked() {
	r.once = true
	if r.sse {
		r.fromSSE()
	} else {
		r.fromJSON()
	}
	if r.sink != nil {
		r.sink.done(r.res)
	} else if r.finish != nil {
		r.finish(r.res)
	}
}

func (r *usageReader) fromJSON() {
	if !r.js.done() {
		return
	}
	if m := r.js.members[0]; m.found && !m.over {
		if t, ok := parseUsage(m.val); ok {
			r.res.tokens, r.res.found = t, true
		}
	}
	if m := r.js.members[1]; m.found && !m.over && len(m.val) <= maxModelBytes {
		if name, ok := modelBytes(m.val); ok {
			r.res.model = r.names.get(name)
		}
	}
}

// scanSSE keeps the last complete data line and the unterminated tail of
// the stream read so far. It looks at the first line of b only when a line
// is pending from the previous read, and otherwise walks back from the end
// of b over the last line or two.
func (r *usageReader) scanSSE(b []byte) {
	if r.pendN > 0 || r.pendSkip || r.pendBig {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			r.extend(b)
			return
		}
		r.extend(b[:nl])
		r.endPending()
		b = b[nl+1:]
	}
	end := lastNewline(b)
	if end < 0 {
		r.extend(b)
		return
	}
	r.noteLastLine(b[:end+1])
	r.extend(b[end+1:])
}

// noteLastLine finds the last data line among the complete lines of b
// (which ends with a line terminator), walking back from the end, and
// keeps it.
func (r *usageReader) noteLastLine(b []byte) {
	end := len(b) - 1 // the terminator of the line under consideration
	for end >= 0 {
		start := lastNewline(b[:end]) + 1
		if line := b[start:end]; isDataLine(line) {
			r.keepLast(line)
			return
		}
		end = start - 1
	}
}

// isDataLine reports whether line (without its terminator) is an SSE data
// line other than "data: [DONE]".
func isDataLine(line []byte) bool {
	if len(line) < len(ssePrefix) || string(line[:len(ssePrefix)]) != ssePrefix {
		return false
	}
	data := line[len(ssePrefix):]
	if len(data) > len(" [DONE]\r") {
		return true // the common case: too long to be [DONE]
	}
	data = bytes.TrimSuffix(data, []byte("\r"))
	data = bytes.TrimPrefix(data, []byte(" "))
	return string(data) != "[DONE]"
}

// keepLast keeps line, a data line, as the last data line.
func (r *usageReader) keepLast(line []byte) {
	if len(line) > maxSSELine {
		r.noteBig()
		return
	}
	r.lastN, r.lastBig = put(&r.bufs[r.pi^1], 0, line), false
}

// put copies b into *buf at offset n, growing it when b does not fit, and
// returns the new length of the content.
func put(buf *[]byte, n int, b []byte) int {
	if need := n + len(b); need > len(*buf) {
		nb := make([]byte, max(need, 2*len(*buf)))
		copy(nb, (*buf)[:n])
		*buf = nb
	}
	return n + copy((*buf)[n:], b)
}

// pend is the kept part of the unterminated line.
func (r *usageReader) pend() []byte { return r.bufs[r.pi][:r.pendN] }

// last is the last complete data line.
func (r *usageReader) last() []byte { return r.bufs[r.pi^1][:r.lastN] }

// noteBig records that the last data line was too long to keep: the
// stream's usage, if it was there, is unknown.
func (r *usageReader) noteBig() { r.lastN, r.lastBig = 0, true }

// extend adds b to the unterminated line. Once the line's first bytes show
// it is not a data line, its bytes are no longer kept; a line longer than
// maxSSELine is dropped.
func (r *usageReader) extend(b []byte) {
	if r.pendSkip || r.pendBig || len(b) == 0 {
		return
	}
	if n := r.pendN; n < len(ssePrefix) {
		// Check what the new bytes add to the line's first five.
		k := min(len(ssePrefix)-n, len(b))
		if string(b[:k]) != ssePrefix[n:n+k] {
			r.pendN, r.pendSkip = 0, true
			return
		}
	}
	if r.pendN+len(b) > maxSSELine {
		// Only data lines are kept, so the dropped line is one once it has
		// its five first bytes (it always has: maxSSELine is far above).
		r.pendData = r.pendN+len(b) >= len(ssePrefix)
		r.pendN, r.pendBig = 0, true
		return
	}
	r.pendN = put(&r.bufs[r.pi], r.pendN, b)
}

// endPending takes the unterminated line as complete: a data line becomes
// the last data line.
func (r *usageReader) endPending() {
	switch {
	case r.pendSkip:
	case r.pendBig:
		if r.pendData {
			r.noteBig() // a data line too long to keep: its usage is unknown
		}
	case isDataLine(r.pend()):
		// The kept line becomes the last data line without a copy; the old
		// last line's buffer takes the next unterminated line.
		r.pi ^= 1
		r.lastN, r.lastBig = r.pendN, false
	}
	r.pendN, r.pendSkip, r.pendBig, r.pendData = 0, false, false, false
}

// fromSSE reads the usage from the last data line once the body ended. A
// final line without terminator counts when the body was read to its end.
func (r *usageReader) fromSSE() {
	if r.res.complete && (r.pendN > 0 || r.pendBig) {
		r.endPending()
	}
	if r.lastBig || r.lastN == 0 {
		return
	}
	line := bytes.TrimSuffix(r.last(), []byte("\r"))
	data := bytes.TrimPrefix(line[len(ssePrefix):], []byte(" "))
	if !bytes.Contains(data, []byte(usageMarker)) {
		// No prompt_tokens or completion_tokens key: no usage to find.
		return
	}
	usage, model, sure := fastEvent(data)
	if !sure {
		s := newScanner(false, 0, keyUsage, keyModel)
		s.feed(data)
		if !s.whole(data) {
			return
		}
		if m := s.members[0]; m.found {
			usage = data[m.start:m.end]
		}
		if m := s.members[1]; m.found {
			model = data[m.start:m.end]
		}
	}
	if usage == nil {
		return
	}
	t, ok := parseUsage(usage)
	if !ok {
		return
	}
	r.res.tokens, r.res.found = t, true
	if model != nil && len(model) <= maxModelBytes {
		if name, ok := modelBytes(model); ok {
			r.res.model = r.names.get(name)
		}
	}
}

// fastEvent finds the raw usage and model values of an SSE event's data
// (nil when absent) without the scanner, when fastMember is sure of it.
func fastEvent(data []byte) (usage, model []byte, sure bool) {
	for i := 0; ; {
		key, vs, ve, next, more, ok := fastMember(data, i)
		if !ok {
			return nil, nil, false
		}
		if !more {
			return usage, model, true
		}
		switch string(key) {
		case keyUsage:
			usage = data[vs:ve]
		case keyModel:
			model = data[vs:ve]
		}
		i = next
	}
}

// interner turns model names read from requests and responses into
// strings, reusing the string made for the same name last time: a Transport
// sees the same few names over and over. It holds at most internSlots
// names and is safe for concurrent use.
type interner struct {
	slots [internSlots]atomic.Pointer[string]
}

const internSlots = 16

// get returns b as a string; a nil interner makes a new one each time.
func (in *interner) get(b []byte) string {
	if in == nil {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &in.slots[h%internSlots]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// fastUsage is parseUsage read with fastMember; sure is false where it
// leaves the object to the scanner.
func fastUsage(raw []byte) (t tokens, ok, sure bool) {
	var in, out, details []byte
	for i := 0; ; {
		key, vs, ve, next, more, ok := fastMember(raw, i)
		if !ok {
			return tokens{}, false, false
		}
		if !more {
			break
		}
		switch string(key) {
		case keyPromptTokens:
			in = raw[vs:ve]
		case keyComplTokens:
			out = raw[vs:ve]
		case keyPromptDetails:
			details = raw[vs:ve]
		}
		i = next
	}
	if in == nil && out == nil {
		return tokens{}, false, true
	}
	var okIn, okOut bool
	if in != nil {
		if t.input, okIn = parseCount(in); !okIn {
			return tokens{}, false, true
		}
	}
	if out != nil {
		if t.output, okOut = parseCount(out); !okOut {
			return tokens{}, false, true
		}
	}
	if details != nil && string(details) != literalNull {
		var cached []byte
		for i := 0; ; {
			key, vs, ve, next, more, ok := fastMember(details, i)
			if !ok {
				return tokens{}, false, false
			}
			if !more {
				break
			}
			if string(key) == keyCachedTokens {
				cached = details[vs:ve]
			}
			i = next
		}
		if cached != nil {
			v, ok := parseCount(cached)
			if !ok {
				return tokens{}, false, true
			}
			t.cached = min(v, t.input)
		}
	}
	return t, true, true
}
