package httpmw

import (
	"bytes"
	"io"
	"sync"
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

// parseModel decodes a raw JSON string value holding a model name; it
// reports false for anything but a plain string without escapes.
func parseModel(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 || bytes.IndexByte(in, '"') >= 0 {
		return "", false
	}
	return string(in), true
}

// usageResult is what a usageReader learned by the time the body ended.
type usageResult struct {
	tokens   tokens
	found    bool   // a usage object was read
	model    string // the response's model field, when read
	complete bool   // the body was read to io.EOF
	err      error  // a read error other than io.EOF
}

// usageReader passes a response body through to the caller unchanged while
// reading the token usage from it:
//
//   - JSON: the top-level usage object, found by an incremental scanner that
//     copies nothing but the usage value (bounded by maxUsageBytes);
//   - SSE: the last data event of the stream (OpenAI sends the usage chunk
//     last, just before "data: [DONE]", when stream_options.include_usage
//     is set). Each read costs a look at its last line or two: the reader
//     keeps a copy of the last complete data line and of the unterminated
//     line at the end of the read, both bounded by maxSSELine, and parses
//     the kept line once, when the body ends.
//
// finish is called exactly once: at io.EOF, at a read error, or at Close.
type usageReader struct {
	body   io.ReadCloser
	sse    bool
	finish func(usageResult)
	sink   *inflight // the Transport's call, told instead of finish when set

	mu   sync.Mutex // Read and Close may race when the caller closes from another goroutine
	once bool
	res  usageResult

	js scanner // JSON mode

	carry     []byte // SSE: the unterminated line at the end of the last read
	carryBig  bool   // SSE: that line outgrew maxSSELine; it is dropped
	carryData bool   // SSE: the dropped line was a data line
	last      []byte // SSE: the last complete data line (payload only)
	lastBig   bool   // SSE: the last data line outgrew maxSSELine
}

func newUsageReader(body io.ReadCloser, sse bool, finish func(usageResult)) *usageReader {
	r := &usageReader{}
	r.init(body, sse)
	r.finish = finish
	return r
}

func (r *usageReader) init(body io.ReadCloser, sse bool) {
	r.body, r.sse = body, sse
	if !sse {
		r.js = newScanner(true, maxUsageBytes, keyUsage, keyModel)
	}
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
		if name, ok := parseModel(m.val); ok {
			r.res.model = name
		}
	}
}

// scanSSE keeps the last complete data line and the unterminated tail of
// the stream read so far.
func (r *usageReader) scanSSE(b []byte) {
	if len(r.carry) > 0 || r.carryBig {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			r.keepCarry(b)
			return
		}
		if !r.carryBig {
			r.keepCarry(b[:nl])
		}
		if !r.carryBig {
			r.noteLine(r.carry)
		} else if r.carryData {
			r.noteBig() // a data line too long to keep: its usage is unknown
		}
		r.carry, r.carryBig = r.carry[:0], false
		b = b[nl+1:]
	}
	end := lastNewline(b)
	if end < 0 {
		r.keepCarry(b)
		return
	}
	r.noteLastLine(b[:end+1])
	r.keepCarry(b[end+1:])
}

// noteLastLine finds the last data line among the complete lines of b
// (which ends with a line terminator), walking back from the end, and
// keeps it.
func (r *usageReader) noteLastLine(b []byte) {
	end := len(b) - 1 // the terminator of the line under consideration
	for end >= 0 {
		start := lastNewline(b[:end]) + 1
		if line := b[start:end]; isDataLine(line) {
			r.noteLine(line)
			return
		}
		end = start - 1
	}
}

// isDataLine reports whether line (without its terminator) is an SSE data
// line other than "data: [DONE]".
func isDataLine(line []byte) bool {
	line = bytes.TrimSuffix(line, []byte("\r"))
	data, ok := bytes.CutPrefix(line, []byte(ssePrefix))
	if !ok {
		return false
	}
	data = bytes.TrimPrefix(data, []byte(" "))
	return string(data) != "[DONE]"
}

// noteLine keeps line as the last data line if it is one.
func (r *usageReader) noteLine(line []byte) {
	if !isDataLine(line) {
		return
	}
	if len(line) > maxSSELine {
		r.noteBig()
		return
	}
	r.last, r.lastBig = append(r.last[:0], line...), false
}

// noteBig records that the last data line was too long to keep: the
// stream's usage, if it was there, is unknown.
func (r *usageReader) noteBig() { r.last, r.lastBig = r.last[:0], true }

// keepCarry appends b to the unterminated line, dropping lines longer than
// maxSSELine.
func (r *usageReader) keepCarry(b []byte) {
	if r.carryBig || len(b) == 0 {
		return
	}
	if len(r.carry)+len(b) > maxSSELine {
		head := append(r.carry[:len(r.carry):len(r.carry)], b[:min(len(b), len(ssePrefix))]...)
		r.carryData = bytes.HasPrefix(head, []byte(ssePrefix))
		r.carry, r.carryBig = r.carry[:0], true
		return
	}
	r.carry = append(r.carry, b...)
}

// fromSSE reads the usage from the last data line once the body ended. A
// final line without terminator counts when the body was read to its end.
func (r *usageReader) fromSSE() {
	if r.res.complete {
		if r.carryBig {
			if r.carryData {
				r.noteBig()
			}
		} else if len(r.carry) > 0 {
			r.noteLine(r.carry)
		}
	}
	if r.lastBig || len(r.last) == 0 {
		return
	}
	line := bytes.TrimSuffix(r.last, []byte("\r"))
	data := bytes.TrimPrefix(line[len(ssePrefix):], []byte(" "))
	s := newScanner(false, 0, keyUsage, keyModel)
	s.feed(data)
	if !s.whole(data) {
		return
	}
	m := s.members[0]
	if !m.found {
		return
	}
	t, ok := parseUsage(data[m.start:m.end])
	if !ok {
		return
	}
	r.res.tokens, r.res.found = t, true
	if mm := s.members[1]; mm.found && mm.end-mm.start <= maxModelBytes {
		if name, ok := parseModel(data[mm.start:mm.end]); ok {
			r.res.model = name
		}
	}
}
