package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmops-go/llmops/internal/drill"
)

const token = "t0ken"

func noEnv(string) string { return "" }

func TestParseFlags(t *testing.T) {
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"prompt":"from file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fault := []string{"-token", token, "-mode", "outage", "-target", "tool:web_search"}
	with := func(extra ...string) []string { return append(append([]string(nil), fault...), extra...) }

	good := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, o *options)
	}{
		{"defaults", with(), nil, func(t *testing.T, o *options) {
			c := o.cfg
			if c.URL != "http://127.0.0.1:8080" || c.Path != "/chat" || c.Method != "POST" || c.Rate != 10 ||
				c.Duration != 30*time.Second || c.Concurrency != 64 || c.Timeout != 30*time.Second ||
				string(c.Body) != drill.DefaultBody || o.json || o.slo != 0 {
				t.Errorf("config = %+v", c)
			}
			f := c.Fault
			if f == nil || f.Mode != drill.ModeOutage || f.Target != "tool:web_search" || f.Probability != 1 || f.TTL != 0 {
				t.Errorf("fault = %+v", f)
			}
		}},
		{"token from env", []string{"-mode", "latency", "-latency", "2s", "-target", "model"},
			map[string]string{tokenEnv: "from-env"}, func(t *testing.T, o *options) {
				if o.cfg.Token != "from-env" || o.cfg.Fault.Latency != 2*time.Second {
					t.Errorf("token %q latency %v", o.cfg.Token, o.cfg.Fault.Latency)
				}
			}},
		{"flag token wins over env", with(), map[string]string{tokenEnv: "from-env"}, func(t *testing.T, o *options) {
			if o.cfg.Token != token {
				t.Errorf("token = %q", o.cfg.Token)
			}
		}},
		{"everything", with("-url", "https://agent.example:8443", "-admin-url", "http://127.0.0.1:9090",
			"-probability", "0.25", "-ttl", "5m", "-tenant", "acme", "-path", "/v1/chat", "-body", `{"q":1}`,
			"-header", "X-Tenant-ID: acme", "-header", "x-trace: a:b", "-rate", "2.5", "-duration", "1m",
			"-requests", "100", "-concurrency", "8", "-timeout", "3s", "-json", "-slo", "0.99", "-progress", "0"),
			nil, func(t *testing.T, o *options) {
				c := o.cfg
				if c.AdminURL != "http://127.0.0.1:9090" || c.Fault.Probability != 0.25 || c.Fault.TTL != 5*time.Minute ||
					c.Fault.Tenant != "acme" || c.Path != "/v1/chat" || string(c.Body) != `{"q":1}` || c.Rate != 2.5 ||
					c.Duration != time.Minute || c.Requests != 100 || c.Concurrency != 8 || c.Timeout != 3*time.Second ||
					!o.json || o.slo != 0.99 || o.progress != 0 {
					t.Errorf("options = %+v, config = %+v", o, c)
				}
				if c.Header.Get("X-Tenant-Id") != "acme" || c.Header.Get("X-Trace") != "a:b" {
					t.Errorf("headers = %v", c.Header)
				}
			}},
		{"throttle retry-after", []string{"-token", token, "-mode", "throttle", "-target", "tools", "-retry-after", "2s"}, nil,
			func(t *testing.T, o *options) {
				if o.cfg.Fault.RetryAfter != 2*time.Second {
					t.Errorf("retry-after = %v", o.cfg.Fault.RetryAfter)
				}
			}},
		{"baseline needs no token", []string{"-no-fault"}, nil, func(t *testing.T, o *options) {
			if o.cfg.Fault != nil || o.cfg.Token != "" {
				t.Errorf("fault = %+v", o.cfg.Fault)
			}
		}},
		{"body file", with("-body-file", bodyFile), nil, func(t *testing.T, o *options) {
			if string(o.cfg.Body) != `{"prompt":"from file"}` {
				t.Errorf("body = %q", o.cfg.Body)
			}
		}},
		{"GET sends no default body", []string{"-no-fault", "-method", "GET"}, nil, func(t *testing.T, o *options) {
			if o.cfg.Body != nil {
				t.Errorf("body = %q", o.cfg.Body)
			}
		}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, func(k string) string { return tt.env[k] }, &stderr)
			if err != nil {
				t.Fatalf("parseFlags: %v (stderr %s)", err, stderr.String())
			}
			tt.check(t, o)
		})
	}

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"probability 2", with("-probability", "2"), "probability 2 is outside [0,1]"},
		{"negative rate", with("-rate", "-1"), "rate -1"},
		{"zero rate", with("-rate", "0"), "rate 0"},
		{"unknown mode", []string{"-token", token, "-mode", "explode", "-target", "model"}, `unknown mode "explode"`},
		{"unknown target", []string{"-token", token, "-mode", "outage", "-target", "db"}, `unknown target "db"`},
		{"no mode", []string{"-token", token, "-target", "model"}, "set -mode and -target"},
		{"no target", []string{"-token", token, "-mode", "outage"}, "set -mode and -target"},
		{"no token", []string{"-mode", "outage", "-target", "model"}, "LLMOPS_ADMIN_TOKEN"},
		{"no-fault with a fault flag", []string{"-no-fault", "-mode", "outage"}, "drop -mode"},
		{"latency without mode latency", with("-latency", "1s"), "only for mode latency"},
		{"mode latency without latency", []string{"-token", token, "-mode", "latency", "-target", "model"}, "positive latency"},
		{"retry-after for outage", with("-retry-after", "1s"), "only for mode throttle"},
		{"ttl over 24h", with("-ttl", "25h"), "ttl"},
		{"body and body file", with("-body", "{}", "-body-file", bodyFile), "not both"},
		{"missing body file", with("-body-file", filepath.Join(t.TempDir(), "nope")), "-body-file"},
		{"bad header", with("-header", "NoColon"), `want "Name: value"`},
		{"slo above 1", with("-slo", "1.5"), "-slo 1.5"},
		{"negative concurrency", with("-concurrency", "-2"), "concurrency"},
		{"bad duration", with("-duration", "soon"), "invalid value"},
		{"unknown flag", with("-qps", "5"), "not defined"},
		{"stray argument", with("extra"), "unexpected arguments"},
		{"relative url", with("-url", "127.0.0.1:8080"), "absolute http(s) URL"},
		{"negative progress", with("-progress", "-1s"), "-progress"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parseFlags(tt.args, noEnv, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// service is a loopback stand-in for the example agent: the chaos admin
// API of the contract and a /chat answering 503 to every 10th request.
type service struct {
	srv    *httptest.Server
	chats  atomic.Int64
	onChat func(n int64)

	mu      sync.Mutex
	sets    int
	clears  int
	refused int
}

func newService(t *testing.T) *service {
	s := &service{}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/chaos", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+token {
			s.refused++
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"unauthorized","message":"missing or invalid bearer token"}}`)
			return
		}
		switch r.Method {
		case http.MethodPost:
			s.sets++
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"fault":{"id":"f1","mode":"outage","target":"tools","probability":1,"ttl":"1m","expires_at":"2030-01-01T00:00:00Z","remaining":"59s"}}`)
		case http.MethodDelete:
			s.clears++
			io.WriteString(w, `{"cleared":1}`)
		}
	})
	mux.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) {
		n := s.chats.Add(1)
		if s.onChat != nil {
			s.onChat(n)
		}
		w.Header().Set("X-Instance-ID", fmt.Sprintf("i-%d", n%2))
		if n%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Agent-Fallbacks", "1")
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *service) counts() (sets, clears, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sets, s.clears, s.refused
}

func drillArgs(url string, n int, extra ...string) []string {
	return append([]string{"-url", url, "-token", token, "-mode", "outage", "-target", "tools",
		"-rate", "1000", "-requests", fmt.Sprint(n), "-concurrency", fmt.Sprint(n), "-progress", "0"}, extra...)
}

func TestRunExitCodes(t *testing.T) {
	// 100 requests, every 10th a 503: success ratio 0.90.
	tests := []struct {
		name       string
		args       func(url string) []string
		want       int
		wantStderr string
		wantChats  int64
		wantClears int
	}{
		{"SLO met", func(u string) []string { return drillArgs(u, 100, "-slo", "0.9") }, exitOK, "", 100, 1},
		{"no SLO", func(u string) []string { return drillArgs(u, 100) }, exitOK, "", 100, 1},
		{"SLO missed", func(u string) []string { return drillArgs(u, 100, "-slo", "0.95") }, exitSLO, "SLO missed: success ratio 90.00% is below 95.00%", 100, 1},
		{"bad flag", func(u string) []string { return drillArgs(u, 100, "-probability", "2") }, exitUsage, "probability 2", 0, 0},
		{"wrong token", func(u string) []string { return drillArgs(u, 100, "-token", "nope") }, exitDrill, "401 Unauthorized (unauthorized): missing or invalid bearer token", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args(svc.srv.URL), noEnv, &stdout, &stderr, false)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to say %q", stderr.String(), tt.wantStderr)
			}
			if _, clears, _ := svc.counts(); svc.chats.Load() != tt.wantChats || clears != tt.wantClears {
				t.Errorf("chats %d clears %d, want %d and %d", svc.chats.Load(), clears, tt.wantChats, tt.wantClears)
			}
			if tt.wantChats > 0 && !strings.Contains(stdout.String(), "success    90.00% (90 of 100 completed") {
				t.Errorf("report:\n%s", stdout.String())
			}
		})
	}
}

func TestRunUnreachable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	for _, args := range [][]string{drillArgs(url, 5), {"-url", url, "-no-fault", "-rate", "1000", "-requests", "5", "-progress", "0"}} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), args, noEnv, &stdout, &stderr, false)
		if code != exitDrill || !strings.Contains(stderr.String(), "service unreachable at "+url) {
			t.Errorf("%v: exit %d, stderr %q; want %d and a clear message", args, code, stderr.String(), exitDrill)
		}
	}
}

func TestRunJSON(t *testing.T) {
	svc := newService(t)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), drillArgs(svc.srv.URL, 20, "-json"), noEnv, &stdout, &stderr, false)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	var rep struct {
		Sent         int            `json:"sent"`
		Status       map[string]int `json:"status"`
		SuccessRatio float64        `json:"success_ratio"`
		Instances    map[string]int `json:"instances"`
		Healing      struct {
			Fallbacks int `json:"fallbacks"`
		} `json:"healing"`
		Latency struct {
			Count int  `json:"count"`
			Exact bool `json:"exact"`
		} `json:"latency"`
		Fault struct {
			Mode    string `json:"mode"`
			ID      string `json:"id"`
			Cleared bool   `json:"cleared"`
		} `json:"fault"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Sent != 20 || rep.Status["200"] != 18 || rep.Status["503"] != 2 || rep.SuccessRatio != 0.9 ||
		rep.Instances["i-0"] != 10 || rep.Instances["i-1"] != 10 || rep.Healing.Fallbacks != 18 ||
		rep.Latency.Count != 20 || !rep.Latency.Exact || rep.Fault.Mode != "outage" || rep.Fault.ID != "f1" || !rep.Fault.Cleared {
		t.Errorf("report = %+v\n%s", rep, stdout.String())
	}
}

func TestRunInterruptedClearsTheFault(t *testing.T) {
	svc := newService(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	svc.onChat = func(n int64) {
		if n == 10 {
			cancel()
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, drillArgs(svc.srv.URL, 5000, "-concurrency", "20", "-progress", "1ms"), noEnv, &stdout, &stderr, false)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, stderr.String())
	}
	if sets, clears, _ := svc.counts(); sets != 1 || clears != 1 {
		t.Errorf("sets %d clears %d, want 1 and 1", sets, clears)
	}
	if !strings.Contains(stderr.String(), "drill: interrupted") || !strings.Contains(stdout.String(), "cleared (1)") {
		t.Errorf("stderr %q\nstdout %q", stderr.String(), stdout.String())
	}
	if !strings.Contains(stderr.String(), "chaosdrill: elapsed ") {
		t.Errorf("no plain progress line on stderr: %q", stderr.String())
	}
}

func TestRunProgressOnATerminal(t *testing.T) {
	svc := newService(t)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), drillArgs(svc.srv.URL, 10, "-progress", "1h"), noEnv, &stdout, &stderr, true)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// One final in-place line, then a newline.
	if got := stderr.String(); !strings.HasPrefix(got, "\relapsed ") || !strings.HasSuffix(got, "\x1b[K\n") || strings.Count(got, "\n") != 1 ||
		!strings.Contains(got, "sent 10/10") || !strings.Contains(got, "200=9 503=1") {
		t.Errorf("stderr = %q", got)
	}
}

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-h"}, noEnv, &stdout, &stderr, false); code != exitOK {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "Exit codes") || !strings.Contains(stderr.String(), "-retry-after") {
		t.Errorf("usage = %s", stderr.String())
	}
}
