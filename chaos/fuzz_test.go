package chaos

import (
	"encoding/json"
	"testing"
)

func FuzzDecodeSpec(f *testing.F) {
	for _, s := range []string{
		`{"mode":"outage","target":"tool:web_search","probability":1,"ttl":"5m","tenant":""}`,
		`{"mode":"latency","target":"model","latency":"2s"}`,
		`{"mode":"throttle","target":"tools","retry_after":"5s","tenant":"acme","probability":0.3}`,
		`{"mode":"malformed","target":"tool:x","mode":"outage"}`,
		`{"mode":"outage","target":"model"} {}`,
		`{"Mode":"outage","target":"model"}`,
		`{"mode":"outage","target":"model","ttl":null}`,
		`[{"mode":"outage"}]`,
		`{"mode":"outage","target":"model","probability":1e400}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := decodeSpec(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted a spec that does not validate: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		for k := range m {
			if !wireField(k) {
				t.Fatalf("accepted unknown field %q", k)
			}
		}
		// A re-encoded body without duplicates decodes to the same spec.
		again, err := decodeSpec(mustMarshal(t, m))
		if err != nil || again != s {
			t.Fatalf("re-encoded body decodes to %+v, %v; want %+v", again, err, s)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
