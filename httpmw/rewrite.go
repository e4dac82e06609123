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

// edit replaces body[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// rewriteChat inspects a chat completion request body and, when asked,
// rewrites its model field to newModel and makes a streaming request ask for
// usage in its final chunk (stream_options.include_usage = true). Only the
// bytes that change are touched; the rest of the body is copied verbatim.
// It returns the body unchanged (same slice) when there is nothing to do or
// when the body is not a single JSON object.
func rewriteChat(body []byte, newModel string, wantUsage bool) ([]byte, chatBody) {
	var info chatBody
	s := newScanner(false, 0, keyModel, keyStream, keyStreamOptions)
	s.feed(body)
	if !s.whole(body) {
		return body, info
	}
	mModel, mStream, mOpts := s.members[0], s.members[1], s.members[2]
	if mModel.found {
		info.model, _ = parseModel(body[mModel.start:mModel.end])
	}
	info.stream = mStream.found && string(body[mStream.start:mStream.end]) == literalTrue

	var buf [2]edit
	edits := buf[:0]
	if newModel != "" && info.model != "" && newModel != info.model {
		edits = append(edits, edit{mModel.start, mModel.end, quoteJSON(newModel)})
	}
	if info.stream && wantUsage {
		if e, ok := usageOptionEdit(body, s.endOff, mOpts); ok {
			edits = append(edits, e)
		}
	}
	if len(edits) == 0 {
		return body, info
	}
	if len(edits) == 2 && edits[1].start < edits[0].start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	size := len(body)
	for _, e := range edits {
		size += len(e.text) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, e := range edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	out = append(out, body[at:]...)
	return out, info
}

// quoteJSON returns s as a JSON string.
func quoteJSON(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return string(q)
		}
	}
	return `"` + s + `"`
}

// usageOptionEdit returns the edit that makes stream_options ask for usage,
// if one is needed. An explicit include_usage: false is overridden: the
// Transport needs the usage chunk to account for the call. end is the offset
// just past the top-level object.
func usageOptionEdit(body []byte, end int, opts member) (edit, bool) {
	const whole = `{"include_usage":true}`
	if !opts.found {
		// Insert a member just before the closing brace of the top-level object.
		return edit{end - 1, end - 1, `,"stream_options":` + whole}, true
	}
	val := body[opts.start:opts.end]
	if len(val) == 0 || val[0] != '{' {
		return edit{opts.start, opts.end, whole}, true
	}
	s := newScanner(false, 0, keyIncludeUsage)
	s.feed(val)
	if !s.whole(val) {
		return edit{opts.start, opts.end, whole}, true
	}
	if m := s.members[0]; m.found {
		if string(val[m.start:m.end]) == literalTrue {
			return edit{}, false
		}
		return edit{opts.start + m.start, opts.start + m.end, literalTrue}, true
	}
	if len(bytes.TrimSpace(val[1:len(val)-1])) == 0 {
		return edit{opts.start, opts.end, whole}, true
	}
	return edit{opts.start + 1, opts.start + 1, `"include_usage":true,`}, true
}
