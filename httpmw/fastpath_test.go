package httpmw

import (
	"testing"
)

// scanMembers is the reference for fastMember: the scanner's top-level
// usage and model values of a whole document.
func scanMembers(doc []byte) (usage, model []byte, ok bool) {
	s := newScanner(false, 0, keyUsage, keyModel)
	s.feed(doc)
	if !s.whole(doc) {
		return nil, nil, false
	}
	if m := s.members[0]; m.found {
		usage = doc[m.start:m.end]
	}
	if m := s.members[1]; m.found {
		model = doc[m.start:m.end]
	}
	return usage, model, true
}

var fastSeeds = []string{
	`{"id":"c","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}}`,
	`{"usage":{"prompt_tokens":1,"completion_tokens":2,"completion_tokens_details":{"reasoning_tokens":0,"x":[1,{"a":"}"}]}}}`,
	`{"a":"\"usage\":{\"prompt_tokens\":1}","b":[{"usage":{"prompt_tokens":3}}],"usage":{"prompt_tokens":7}}`,
	`{"k\"":"v\\","usage":{"prompt_tokens":01},"usage":{"completion_tokens":null}}`,
	`{"usage":{"prompt_tokens":1,"prompt_tokens":"2"}}`,
	`{"usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":9}}}`,
	`{"usage":{"prompt_tokens":5,"prompt_tokens_details":"x"}}`,
	`{"usage":{"prompt_tokens":5,"prompt_tokens_details":null}} ` + "\t\r\n",
	`{"usage":{"prompt_tokens":5}}x`,
	`{"usage":{"prompt_tokens":5},}`,
	`{}`, ` { } `, `{"usage":}`, `{"usage":{"prompt_tokens":1]}`, `[]`, `{"usage":{"prompt_tokens":1 2}}`,
	`{"model":"m","usage":{"prompt_tokens":1,"completion_tokens":2}}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"a\nb \"q\""}]}` + "\n",
}

// TestFastPathMatchesScanner checks that where the whole-buffer fast path
// answers, it answers as the scanner does.
func TestFastPathMatchesScanner(t *testing.T) {
	for _, s := range fastSeeds {
		t.Run(s, func(t *testing.T) { checkFastPath(t, []byte(s)) })
	}
	// The usual layouts take the fast path.
	for _, s := range fastSeeds[:3] {
		if _, _, sure := fastEvent([]byte(s)); !sure {
			t.Errorf("fastEvent(%q) left it to the scanner", s)
		}
	}
	if _, _, sure := fastUsage([]byte(`{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}`)); !sure {
		t.Error("fastUsage left the usual usage object to the scanner")
	}
}

func FuzzFastPath(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastPath)
}

func checkFastPath(t *testing.T, doc []byte) {
	if u, m, sure := fastEvent(doc); sure {
		ru, rm, ok := scanMembers(doc)
		if !ok || string(u) != string(ru) || string(m) != string(rm) || (u == nil) != (ru == nil) || (m == nil) != (rm == nil) {
			t.Fatalf("fastEvent(%q) = %q, %q; scanner: %q, %q, %v", doc, u, m, ru, rm, ok)
		}
	}
	model, stream, opts, end, ok := chatMembers(doc)
	s := newScanner(false, 0, keyModel, keyStream, keyStreamOptions)
	s.feed(doc)
	if whole := s.whole(doc); ok != whole || ok && (!sameMember(model, s.members[0]) || !sameMember(stream, s.members[1]) || !sameMember(opts, s.members[2]) || end != s.endOff) {
		t.Fatalf("chatMembers(%q) = %+v %+v %+v %d %v; scanner: %+v %d %v", doc, model, stream, opts, end, ok, s.members[:3], s.endOff, whole)
	}
	if tk, ok, sure := fastUsage(doc); sure {
		if rt, rok := scanUsage(doc); tk != rt || ok != rok {
			t.Fatalf("fastUsage(%q) = %+v, %v; scanner: %+v, %v", doc, tk, ok, rt, rok)
		}
	}
}

func sameMember(a, b member) bool { return a.found == b.found && a.start == b.start && a.end == b.end }
