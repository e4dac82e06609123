package drill_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

const testToken = "s3cret-token"

// answer is what the fake service answers to its n-th chat request
// (1-based). It is the specification the report is checked against.
type answer struct {
	status    int
	code      string // error code of a JSON error body
	instance  string
	model     string
	decision  string
	fallbacks string
	repairs   string
}

func plan(n int) answer {
	a := answer{status: http.StatusOK, model: "gpt-4o", decision: "allow"}
	switch {
	case n%9 == 0:
		// no instance header
	case n%2 == 1:
		a.instance = "i-a"
	default:
		a.instance = "i-b"
	}
	if n%7 == 0 {
		a.decision, a.model = "downshift", "gpt-4o-mini"
	}
	switch {
	case n%10 == 0:
		a.status, a.code = http.StatusServiceUnavailable, "upstream_unavailable"
	case n%25 == 0: // a budget block told by the body only
		a.status, a.code, a.decision, a.model = http.StatusTooManyRequests, "budget_exceeded", "", ""
	case n == 41: // a budget block told by the header only
		a.status, a.code, a.decision, a.model = http.StatusTooManyRequests, "over_quota", "block", ""
	case n%33 == 0:
		a.status, a.code = http.StatusTooManyRequests, "rate_limited"
	}
	switch {
	case n == 50:
		a.fallbacks = "many"
	case n%8 == 0:
		a.fallbacks = "2"
	case n%4 == 0:
		a.fallbacks = "1"
	}
	if n%5 == 0 {
		a.repairs = "1"
	}
	return a
}

// adminCall is one call the fake admin endpoint received.
type adminCall struct {
	Method     string
	Authorized bool
	Fault      map[string]any // decoded POST body
	ChatsSoFar int64          // chat requests received before this call
}

// fakeService implements the chaos admin API of the contract and a /chat
// endpoint answering plan(n).
type fakeService struct {
	t   *testing.T
	srv *httptest.Server

	chats  atomic.Int64
	onChat func(n int)           // called before answering chat request n
	onSet  func(r *http.Request) // called before handling a POST /admin/chaos

	mu         sync.Mutex
	calls      []adminCall
	active     int
	clearFails bool   // DELETE answers 500
	setStatus  int    // when set, POST answers this status with setMessage
	setMessage string // error message for setStatus
	chatHeader []http.Header
	chatBodies [][]byte
}

func newFakeService(t *testing.T) *fakeService {
	f := &fakeService{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/chaos", f.admin)
	mux.HandleFunc("/chat", f.chat)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) URL() string { return f.srv.URL }

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (f *fakeService) admin(w http.ResponseWriter, r *http.Request) {
	if f.onSet != nil && r.Method == http.MethodPost {
		f.onSet(r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	call := adminCall{Method: r.Method, Authorized: r.Header.Get("Authorization") == "Bearer "+testToken, ChatsSoFar: f.chats.Load()}
	if call.Method == http.MethodPost {
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.UseNumber()
		if err := dec.Decode(&call.Fault); err != nil {
			f.t.Errorf("admin POST body: %v", err)
		}
	}
	f.calls = append(f.calls, call)
	if !call.Authorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chaos"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
		return
	}
	switch r.Method {
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "want application/json, got "+ct)
			return
		}
		if f.setStatus != 0 {
			writeError(w, f.setStatus, "bad_request", f.setMessage)
			return
		}
		f.active++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fault := map[string]any{}
		for k, v := range call.Fault {
			fault[k] = v
		}
		fault["id"] = "f-" + strconv.Itoa(len(f.calls))
		fault["expires_at"] = "2030-01-02T03:04:05Z"
		fault["remaining"] = "4m59s"
		_ = json.NewEncoder(w).Encode(map[string]any{"fault": fault})
	case http.MethodDelete:
		if f.clearFails {
			writeError(w, http.StatusInternalServerError, "internal", "sync store down")
			return
		}
		n := f.active
		f.active = 0
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"cleared":%d}`, n)
	default:
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method)
	}
}

func (f *fakeService) chat(w http.ResponseWriter, r *http.Request) {
	n := int(f.chats.Add(1))
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.chatHeader = append(f.chatHeader, r.Header.Clone())
	f.chatBodies = append(f.chatBodies, body)
	f.mu.Unlock()
	if f.onChat != nil {
		f.onChat(n)
	}
	a := plan(n)
	h := w.Header()
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("X-Instance-ID", a.instance)
	set("X-Agent-Model", a.model)
	set("X-Budget-Decision", a.decision)
	set("X-Agent-Fallbacks", a.fallbacks)
	set("X-Agent-Repairs", a.repairs)
	h.Set("Content-Type", "application/json")
	if a.code != "" {
		writeError(w, a.status, a.code, "planned failure")
		return
	}
	w.WriteHeader(a.status)
	io.WriteString(w, `{"answer":"sunny"}`)
}

func (f *fakeService) adminCalls() []adminCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]adminCall(nil), f.calls...)
}

// count returns the admin calls with the given method.
func (f *fakeService) count(method string) int {
	n := 0
	for _, c := range f.adminCalls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}
