package httpmw

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// refUsage decodes a usage value the slow way, with encoding/json, under
// the rules parseUsage documents.
func refUsage(raw json.RawMessage) (tokens, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return tokens{}, false
	}
	count := func(v json.RawMessage) (int64, bool) {
		s := string(v)
		if s == "null" {
			return 0, true
		}
		if len(s) == 0 || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
			return 0, false
		}
		var n int64
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	var t tokens
	p, hasP := m["prompt_tokens"]
	c, hasC := m["completion_tokens"]
	if !hasP && !hasC {
		return tokens{}, false
	}
	var ok bool
	if hasP {
		if t.input, ok = count(p); !ok {
			return tokens{}, false
		}
	}
	if hasC {
		if t.output, ok = count(c); !ok {
			return tokens{}, false
		}
	}
	if d, has := m["prompt_tokens_details"]; has && string(d) != "null" {
		var dm map[string]json.RawMessage
		if err := json.Unmarshal(d, &dm); err != nil || dm == nil {
			return tokens{}, false
		}
		if ct, has := dm["cached_tokens"]; has {
			v, ok := count(ct)
			if !ok {
				return tokens{}, false
			}
			t.cached = min(v, t.input)
		}
	}
	return t, true
}

// refDoc returns the usage and model of one JSON document.
func refDoc(doc []byte) (tokens, bool, string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil || top == nil {
		return tokens{}, false, ""
	}
	var model string
	if mv, ok := top["model"]; ok {
		_ = json.Unmarshal(mv, &model)
	}
	u, ok := top["usage"]
	if !ok {
		return tokens{}, false, model
	}
	t, found := refUsage(u)
	return t, found, model
}

// refSSE returns the usage of the stream's last data event (other than
// [DONE]), and whether that event's payload is valid JSON.
func refSSE(body []byte) (res usageResult, clean bool) {
	var last []byte
	for _, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data, _ = bytes.CutPrefix(data, []byte(" "))
		if string(data) == "[DONE]" {
			continue
		}
		last = data
	}
	if last == nil {
		return res, true
	}
	if !json.Valid(last) {
		return res, false
	}
	res.tokens, res.found, res.model = refDoc(last)
	if !res.found {
		res.model = ""
	}
	return res, true
}

func FuzzUsageReader(f *testing.F) {
	f.Add([]byte(chatJSON), false, byte(3))
	f.Add([]byte(sseStream(3, true)), true, byte(1))
	f.Add([]byte(sseStream(2, false)), true, byte(200))
	f.Add([]byte(`{"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":5}},"model":"m"}`), false, byte(0))
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":1}}\r\ndata: [DONE]\r\n"), true, byte(5))
	f.Add([]byte(`{"a":"\"usage\":{\"prompt_tokens\":1}","b":[{"usage":{"prompt_tokens":3}}]}`), false, byte(9))
	f.Fuzz(func(t *testing.T, body []byte, sse bool, split byte) {
		seen, whole, calls := readAllIn(t, body, sse, nil)
		if !bytes.Equal(seen, body) || calls != 1 {
			t.Fatalf("pass-through altered the body or finish ran %d times", calls)
		}
		sizes := []int{int(split%17) + 1, int(split%5) + 1, int(split)}
		_, parts, _ := readAllIn(t, body, sse, sizes)
		if parts != whole {
			t.Fatalf("split %v changed the result: %+v vs %+v", sizes, parts, whole)
		}
		if len(body) > maxUsageBytes || bytes.Contains(body, []byte(`\u`)) {
			return // escape-spelled keys and oversized values are out of the reference's scope
		}
		var ref usageResult
		if sse {
			var clean bool
			if ref, clean = refSSE(body); !clean {
				return
			}
		} else {
			if !json.Valid(body) {
				return
			}
			ref.tokens, ref.found, ref.model = refDoc(body)
		}
		if whole.found != ref.found || whole.tokens != ref.tokens {
			t.Fatalf("usage %+v found=%v; reference %+v found=%v", whole.tokens, whole.found, ref.tokens, ref.found)
		}
		if (whole.found || !sse) && !bytes.Contains(body, []byte(`\`)) && whole.model != ref.model {
			t.Fatalf("model %q; reference %q", whole.model, ref.model)
		}
	})
}

func FuzzRewriteChat(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`), "gpt-4o-mini", true)
	f.Add([]byte(`{"model":"a","stream":true,"stream_options":{"include_usage":false,"x":[1]}}`), "", true)
	f.Add([]byte(`{"stream_options":null,"stream":true}`), "b", false)
	f.Fuzz(func(t *testing.T, body []byte, model string, wantUsage bool) {
		orig := bytes.Clone(body)
		out, info := rewriteChat(body, model, wantUsage)
		if !bytes.Equal(body, orig) {
			t.Fatalf("rewriteChat modified its input")
		}
		var names interner
		for _, slack := range []int{0, 8, 64, 200} {
			own := append(make([]byte, 0, len(body)+slack), body...)
			got, ginfo, edited := rewriteChatInPlace(own, model, wantUsage, &names)
			if !bytes.Equal(got, out) || ginfo != info || edited != (len(out) != len(body) || !bytes.Equal(out, body) || (model != "" && info.model != "" && model != info.model)) {
				t.Fatalf("in place (slack %d): %q %+v %v; want %q %+v", slack, got, ginfo, edited, out, info)
			}
		}
		if !json.Valid(body) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %s from %s", out, body)
		}
		var in, got map[string]any
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(out, &got) != nil {
			if !bytes.Equal(out, body) {
				t.Fatalf("a non-object body was changed")
			}
			return
		}
		if bytes.Contains(body, []byte(`\`)) || bytes.Count(body, []byte(`"model"`)) > 1 || bytes.Count(body, []byte(`"stream`)) > 2 || !utf8.Valid(body) {
			return // duplicate or escape-spelled keys, invalid UTF-8: decoders disagree on what the body says
		}
		wantModel := in["model"]
		if s, ok := wantModel.(string); ok && s == info.model && model != "" && info.model != "" {
			q, _ := json.Marshal(model)
			var rt string
			_ = json.Unmarshal(q, &rt) // the model as JSON carries it (invalid UTF-8 becomes U+FFFD)
			wantModel = rt
		}
		if !reflect.DeepEqual(got["model"], wantModel) {
			t.Fatalf("model %v, want %v", got["model"], wantModel)
		}
		if info.stream != (in["stream"] == true) {
			t.Fatalf("stream %v misread", info.stream)
		}
		if info.stream && wantUsage {
			so, _ := got["stream_options"].(map[string]any)
			if so["include_usage"] != true {
				t.Fatalf("stream_options %v lacks include_usage", got["stream_options"])
			}
		}
		for k, v := range in {
			if k == "model" || k == "stream_options" {
				continue
			}
			if !reflect.DeepEqual(got[k], v) {
				t.Fatalf("member %q changed: %v -> %v", k, v, got[k])
			}
		}
	})
}

func FuzzHeaderTenant(f *testing.F) {
	for _, s := range []string{"acme", "tenant-1_a.b:c", "", " acme", "a\x00b", strings.Repeat("a", 64), strings.Repeat("a", 65), "é"} {
		f.Add(s)
	}
	resolve := HeaderTenant("")
	f.Fuzz(func(t *testing.T, v string) {
		r := &http.Request{Header: http.Header{}}
		r.Header.Set(DefaultTenantHeader, v)
		got, err := resolve(r)
		valid := len(v) >= 1 && len(v) <= MaxTenantLen
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0) {
				valid = false
			}
		}
		switch {
		case valid && (err != nil || got != v):
			t.Fatalf("%q rejected: %v", v, err)
		case !valid && err == nil:
			t.Fatalf("%q accepted", v)
		case !valid && !errors.Is(err, ErrTenantInvalid) && !errors.Is(err, ErrTenantMissing):
			t.Fatalf("%q: error %v matches no sentinel", v, err)
		}
	})
}
