package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestChatRejectsLenientBodies posts bodies that encoding/json alone would
// accept or misread through the real handler (middleware included) and
// checks each gets a 400 with the JSON error, while strict bodies are
// served.
func TestChatRejectsLenientBodies(t *testing.T) {
	_, url := start(t, nil)
	const (
		bodyMsg = `the body must be one JSON object {"prompt": "..."}`
		sizeMsg = "prompt must be 1 to 8192 bytes"
	)
	tests := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"valid", `{"prompt":"What is the capital of France?"}`, http.StatusOK, ""},
		{"escaped key", `{"\u0070rompt":"Tell me a fact about Paris"}`, http.StatusOK, ""},
		{"longest prompt", `{"prompt":"` + strings.Repeat("a", 8192) + `"}`, http.StatusOK, ""},
		{"case-folded key", `{"PROMPT":"hi"}`, http.StatusBadRequest, bodyMsg},
		{"duplicate key", `{"prompt":"a","prompt":"b"}`, http.StatusBadRequest, bodyMsg},
		{"null", `{"prompt":null}`, http.StatusBadRequest, bodyMsg},
		{"trailing object", `{"prompt":"a"}{"prompt":"b"}`, http.StatusBadRequest, bodyMsg},
		{"trailing brace", `{"prompt":"a"}}`, http.StatusBadRequest, bodyMsg},
		{"trailing bracket", `{"prompt":"a"}]`, http.StatusBadRequest, bodyMsg},
		{"invalid UTF-8", "{\"prompt\":\"\xff\"}", http.StatusBadRequest, bodyMsg},
		{"nested", `{"prompt":{"text":"hi"}}`, http.StatusBadRequest, bodyMsg},
		{"unknown field", `{"prompt":"x","extra":1}`, http.StatusBadRequest, bodyMsg},
		{"not JSON", `not json`, http.StatusBadRequest, bodyMsg},
		{"empty body", ``, http.StatusBadRequest, bodyMsg},
		{"body over the limit", `{"prompt":"x"}` + strings.Repeat(" ", 64<<10), http.StatusBadRequest, bodyMsg},
		{"prompt too long", `{"prompt":"` + strings.Repeat("a", 8193) + `"}`, http.StatusBadRequest, sizeMsg},
		{"empty prompt", `{"prompt":""}`, http.StatusBadRequest, sizeMsg},
		{"no prompt", `{}`, http.StatusBadRequest, sizeMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(url+"/chat", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status == http.StatusOK {
				var out struct {
					Answer string `json:"answer"`
				}
				if err := json.Unmarshal(b, &out); err != nil || out.Answer == "" {
					t.Errorf("answer %q (%v) in %s", out.Answer, err, b)
				}
				return
			}
			var out struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			if out.Error.Code != "bad_request" || out.Error.Message != tt.msg {
				t.Errorf("error %+v, want bad_request %q", out.Error, tt.msg)
			}
		})
	}
}
