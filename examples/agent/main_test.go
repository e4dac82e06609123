package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	addrs := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, &stdout, &stderr,
			func(a string) { addrs <- a })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case code := <-done:
		t.Fatalf("exited with %d: %s", code, stderr.String())
	}
	resp, err := http.Post("http://"+addr+"/chat", "application/json", strings.NewReader(`{"prompt":"count primes up to 100"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Answer string `json:"answer"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(out.Answer, "25 primes up to 100") {
		t.Errorf("status %d answer %q", resp.StatusCode, out.Answer)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d: %s", code, stderr.String())
	}
	for _, want := range []string{"listening on http://" + addr, "admin token (LLMOPS_ADMIN_TOKEN is unset", "shutting down"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestConfigurationErrorIsOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad url", nil, map[string]string{"LLM_BASE_URL": "not a url"}, "agent: config: LLM_BASE_URL"},
		{"missing budget file", []string{"-budget-file", "/nonexistent/budgets.json"}, nil, "agent: config: budget file"},
		{"unknown model", []string{"-model", "gpt-unknown-9"}, nil, `unknown model "gpt-unknown-9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(context.Background(), append(tt.args, "-addr", "127.0.0.1:0"), func(k string) string { return tt.env[k] },
				&stdout, &stderr, nil)
			msg := stderr.String()
			if code != 2 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 || strings.Contains(msg, "goroutine") {
				t.Errorf("code %d stderr %q", code, msg)
			}
		})
	}
}
