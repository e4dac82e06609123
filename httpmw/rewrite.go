package httpmw

import (
	"bytes"
	"encoding/json"
	"strings"
)

// endpoint is the kind of model API a request goes to.
type endpoint uint8

const (
	endpointOther  endpoint = iota // not a chat completion; passed through
	endpointOpenAI                 // .../chat/completions
	endpointAzure                  // .../openai/deployments/{deployment}/chat/completions
)

const (
	chatSuffix   = "/chat/completions"
	azureSegment = "/openai/deployments/"
)

// classify reports the endpoint of a request path and, for Azure, the
// deployment segment and where it sits in the path.
func classify(path string) (kind endpoint, deployment string, depStart int) {
	if !strings.HasSuffix(path, chatSuffix) {
		return endpointOther, "", 0
	}
	head := path[:len(path)-len(chatSuffix)]
	if i := strings.LastIndex(head, azureSegment); i >= 0 {
		dep := head[i+len(azureSegment):]
		if dep != "" && !strings.Contains(dep, "/") {
			return endpointAzure, dep, i + len(azureSegment)
		}
	}
	return endpointOpenAI, "", 0
}

// chatBody is what the Transport reads from a chat completion request body.
type chatBody struct {
	model  string // the JSON model field ("" when absent or not a plain string)
	stream bool   // "stream": true
}

// edit replaces body[start:end] with text, between double quotes when
// quote is set.
type edit struct {
	start, end int
	text       string
	quote      bool
}

// size is the length of what the edit writes.
func (e edit) size() int {
	if e.quote {
		return len(e.text) + 2
	}
	return len(e.text)
}

// chatEdits is what a chat completion request body needs changed: at most
// a model edit and a stream_options edit, in body order.
type chatEdits struct {
	buf [2]edit
	n   int
}

func (c *chatEdits) list() []edit { return c.buf[:c.n] }

// grow is how much longer the body gets, and at most how much longer it is
// while the edits are applied in place from the last to the first.
func (c *chatEdits) grow() (total, peak int) {
	for _, e := range c.list() {
		d := e.size() - (e.end - e.start)
		total += d
		peak += max(d, 0)
	}
	return total, peak
}

// rewriteChat inspects a chat completion request body and, when asked,
// rewrites its model field to newModel and makes a streaming request ask for
// usage in its final chunk (stream_options.include_usage = true). Only the
// bytes that change are touched; the rest of the body is copied verbatim.
// It returns the body unchanged (same slice) when there is nothing to do or
// when the body is not a single JSON object; body itself is never modified.
func rewriteChat(body []byte, newModel string, wantUsage bool) ([]byte, chatBody) {
	ed, info := planChat(body, newModel, wantUsage, nil)
	if ed.n == 0 {
		return body, info
	}
	total, _ := ed.grow()
	return splice(make([]byte, 0, len(body)+total), body, ed.list()), info
}

// rewriteChatInPlace is rewriteChat for a body the caller owns: the edits
// are made in body's own array when its capacity allows (no allocation),
// in a new one otherwise. Model names come from names. It reports whether
// it changed anything.
func rewriteChatInPlace(body []byte, newModel string, wantUsage bool, names *interner) ([]byte, chatBody, bool) {
	ed, info := planChat(body, newModel, wantUsage, names)
	if ed.n == 0 {
		return body, info, false
	}
	total, peak := ed.grow()
	if len(body)+peak > cap(body) {
		return splice(make([]byte, 0, len(body)+total), body, ed.list()), info, true
	}
	for i := ed.n - 1; i >= 0; i-- { // from the last edit, so earlier offsets hold
		e := ed.buf[i]
		size := e.size()
		tail := len(body) - e.end
		at := e.start + size
		body = body[:at+tail]
		copy(body[at:], body[e.end:e.end+tail]) // copy moves overlapping bytes correctly
		writeEdit(body[e.start:at], e)
	}
	return body, info, true
}

// splice appends body with the edits applied to dst.
func splice(dst, body []byte, edits []edit) []byte {
	at := 0
	for _, e := range edits {
		dst = append(dst, body[at:e.start]...)
		n := len(dst)
		dst = dst[:n+e.size()]
		writeEdit(dst[n:], e)
		at = e.end
	}
	return append(dst, body[at:]...)
}

// writeEdit writes what e writes into b, which has e.size() bytes.
func writeEdit(b []byte, e edit) {
	if !e.quote {
		copy(b, e.text)
		return
	}
	b[0], b[len(b)-1] = '"', '"'
	copy(b[1:], e.text)
}

// planChat reads a chat completion request body and works out its edits.
func planChat(body []byte, newModel string, wantUsage bool, names *interner) (chatEdits, chatBody) {
	var ed chatEdits
	var info chatBody
	mModel, mStream, mOpts, end, ok := chatMembers(body)
	if !ok {
		return ed, info
	}
	var model []byte
	if mModel.found {
		if m, ok := modelBytes(body[mModel.start:mModel.end]); ok && len(m) > 0 {
			model = m
			info.model = names.get(m)
		}
	}
	info.stream = mStream.found && string(body[mStream.start:mStream.end]) == literalTrue

	if newModel != "" && model != nil && newModel != string(model) {
		ed.buf[ed.n] = modelEdit(mModel, newModel)
		ed.n++
	}
	if info.stream && wantUsage {
		if e, ok := usageOptionEdit(body, end, mOpts); ok {
			ed.buf[ed.n] = e
			ed.n++
		}
	}
	if ed.n == 2 && ed.buf[1].start < ed.buf[0].start {
		ed.buf[0], ed.buf[1] = ed.buf[1], ed.buf[0]
	}
	return ed, info
}

// chatMembers finds the model, stream and stream_options members of a
// request body and the offset just past its top-level object; ok is false
// unless the body is one JSON object with nothing but spaces after it.
func chatMembers(body []byte) (model, stream, opts member, end int, ok bool) {
	for i := 0; ; {
		key, vs, ve, next, more, sure := fastMember(body, i)
		if !sure {
			break
		}
		if !more {
			end = len(body)
			for end > 0 && isSpace(body[end-1]) {
				end--
			}
			return model, stream, opts, end, true
		}
		m := member{found: true, start: vs, end: ve}
		switch string(key) {
		case keyModel:
			model = m
		case keyStream:
			stream = m
		case keyStreamOptions:
			opts = m
		}
		i = next
	}
	s := newScanner(false, 0, keyModel, keyStream, keyStreamOptions)
	s.feed(body)
	if !s.whole(body) {
		return member{}, member{}, member{}, 0, false
	}
	return s.members[0], s.members[1], s.members[2], s.endOff, true
}

// modelEdit replaces the model value m with name as a JSON string.
func modelEdit(m member, name string) edit {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(name) // a string always marshals
			return edit{start: m.start, end: m.end, text: string(q)}
		}
	}
	return edit{start: m.start, end: m.end, text: name, quote: true}
}

// usageOptionEdit returns the edit that makes stream_options ask for usage,
// if one is needed. An explicit include_usage: false is overridden: the
// Transport needs the usage chunk to account for the call. end is the offset
// just past the top-level object.
func usageOptionEdit(body []byte, end int, opts member) (edit, bool) {
	const whole = `{"include_usage":true}`
	if !opts.found {
		// Insert a member just before the closing brace of the top-level object.
		return edit{start: end - 1, end: end - 1, text: `,"stream_options":` + whole}, true
	}
	val := body[opts.start:opts.end]
	if len(val) == 0 || val[0] != '{' {
		return edit{start: opts.start, end: opts.end, text: whole}, true
	}
	s := newScanner(false, 0, keyIncludeUsage)
	s.feed(val)
	if !s.whole(val) {
		return edit{start: opts.start, end: opts.end, text: whole}, true
	}
	if m := s.members[0]; m.found {
		if string(val[m.start:m.end]) == literalTrue {
			return edit{}, false
		}
		return edit{start: opts.start + m.start, end: opts.start + m.end, text: literalTrue}, true
	}
	if len(bytes.TrimSpace(val[1:len(val)-1])) == 0 {
		return edit{start: opts.start, end: opts.end, text: whole}, true
	}
	return edit{start: opts.start + 1, end: opts.start + 1, text: `"include_usage":true,`}, true
}
