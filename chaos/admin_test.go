package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/clock"
)

const testToken = "s3cret-token-for-tests-0123456789"

type adminFixture struct {
	in     *chaos.Injector
	fc     *clock.Fake
	h      *chaos.AdminHandler
	audits []chaos.AuditEvent
}

func newAdmin(t *testing.T, token string, opts ...chaos.AdminOption) *adminFixture {
	t.Helper()
	fx := &adminFixture{}
	fx.in, fx.fc = newInjector(t)
	opts = append([]chaos.AdminOption{chaos.WithAuditHook(func(e chaos.AuditEvent) { fx.audits = append(fx.audits, e) })}, opts...)
	h, err := chaos.NewAdminHandler(fx.in, token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	fx.h = h
	return fx
}

type req struct {
	method, body, ctype, auth, remote string
	header                            map[string]string
}

func (fx *adminFixture) do(r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, "http://svc.local/admin/chaos", strings.NewReader(r.body))
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, hr)
	return w
}

func post(body string) req {
	return req{method: http.MethodPost, body: body, ctype: "application/json", auth: "Bearer " + testToken}
}

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestAdminRejections(t *testing.T) {
	const valid = `{"mode":"outage","target":"tool:web_search","probability":1,"ttl":"5m"}`
	big := `{"mode":"outage","target":"model","tenant":"` + strings.Repeat("a", chaos.DefaultMaxBodyBytes) + `"}`
	withHeader := func(r req, k, v string) req { r.header = map[string]string{k: v}; return r }
	tests := []struct {
		name     string
		req      req
		status   int
		code     string
		inMsg    string
		wantAuth bool
	}{
		{"no token", req{method: "POST", body: valid, ctype: "application/json"}, 401, "unauthorized", "missing", true},
		{"wrong token", req{method: "POST", body: valid, ctype: "application/json", auth: "Bearer nope-nope-nope-nope"}, 401, "unauthorized", "invalid", true},
		{"token prefix", req{method: "POST", body: valid, ctype: "application/json", auth: "Bearer " + testToken[:20]}, 401, "unauthorized", "invalid", true},
		{"token with suffix", req{method: "POST", body: valid, ctype: "application/json", auth: "Bearer " + testToken + "x"}, 401, "unauthorized", "invalid", true},
		{"basic scheme", req{method: "POST", body: valid, ctype: "application/json", auth: "Basic " + testToken}, 401, "unauthorized", "Bearer", true},
		{"no token on GET", req{method: "GET"}, 401, "unauthorized", "", true},
		{"no token on DELETE", req{method: "DELETE"}, 401, "unauthorized", "", true},
		{"PUT", req{method: "PUT", body: valid, ctype: "application/json", auth: "Bearer " + testToken}, 405, "method_not_allowed", "PUT", false},
		{"PATCH", req{method: "PATCH", auth: "Bearer " + testToken}, 405, "method_not_allowed", "", false},
		{"no content type", req{method: "POST", body: valid, auth: "Bearer " + testToken}, 415, "unsupported_media_type", "", false},
		{"text/plain", req{method: "POST", body: valid, ctype: "text/plain", auth: "Bearer " + testToken}, 415, "unsupported_media_type", "text/plain", false},
		{"form", req{method: "POST", body: valid, ctype: "application/x-www-form-urlencoded", auth: "Bearer " + testToken}, 415, "unsupported_media_type", "", false},
		{"latin1 charset", req{method: "POST", body: valid, ctype: "application/json; charset=latin1", auth: "Bearer " + testToken}, 415, "unsupported_media_type", "", false},
		{"too large", post(big), 413, "too_large", "8192", false},
		{"empty body", post(``), 400, "bad_request", "empty", false},
		{"array", post(`[` + valid + `]`), 400, "bad_request", "object", false},
		{"not JSON", post(`mode=outage`), 400, "bad_request", "", false},
		{"truncated", post(valid[:30]), 400, "bad_request", "malformed", false},
		{"unknown field", post(`{"mode":"outage","target":"model","force":true}`), 400, "bad_request", `unknown field "force"`, false},
		{"case-folded field", post(`{"Mode":"outage","target":"model"}`), 400, "bad_request", `unknown field "Mode"`, false},
		{"duplicate key", post(`{"mode":"latency","target":"model","mode":"outage"}`), 400, "bad_request", `duplicate key "mode"`, false},
		{"duplicate probability", post(`{"mode":"outage","target":"model","probability":0,"probability":1}`), 400, "bad_request", "duplicate", false},
		{"trailing object", post(valid + `{}`), 400, "bad_request", "trailing", false},
		{"trailing garbage", post(valid + ` x`), 400, "bad_request", "trailing", false},
		{"null field", post(`{"mode":"outage","target":"model","ttl":null}`), 400, "bad_request", `"ttl" is null`, false},
		{"invalid UTF-8", post("{\"mode\":\"outage\",\"target\":\"model\",\"tenant\":\"\xff\"}"), 400, "bad_request", "UTF-8", false},
		{"probability as string", post(`{"mode":"outage","target":"model","probability":"1"}`), 400, "bad_request", "probability", false},
		{"probability above 1", post(`{"mode":"outage","target":"model","probability":1.5}`), 400, "bad_request", "probability", false},
		{"negative probability", post(`{"mode":"outage","target":"model","probability":-0.1}`), 400, "bad_request", "probability", false},
		{"overflowing probability", post(`{"mode":"outage","target":"model","probability":1e400}`), 400, "bad_request", "", false},
		{"missing mode", post(`{"target":"model"}`), 400, "bad_request", "mode is required", false},
		{"unknown mode", post(`{"mode":"explode","target":"model"}`), 400, "bad_request", "unknown mode", false},
		{"missing target", post(`{"mode":"outage"}`), 400, "bad_request", "target is required", false},
		{"unknown target", post(`{"mode":"outage","target":"database"}`), 400, "bad_request", "unknown target", false},
		{"empty tool", post(`{"mode":"outage","target":"tool:"}`), 400, "bad_request", "tool name", false},
		{"TTL over max", post(`{"mode":"outage","target":"model","ttl":"25h"}`), 400, "bad_request", "ttl", false},
		{"TTL zero", post(`{"mode":"outage","target":"model","ttl":"0s"}`), 400, "bad_request", "ttl", false},
		{"TTL negative", post(`{"mode":"outage","target":"model","ttl":"-1m"}`), 400, "bad_request", "ttl", false},
		{"TTL not a duration", post(`{"mode":"outage","target":"model","ttl":"5 minutes"}`), 400, "bad_request", "ttl", false},
		{"TTL as number", post(`{"mode":"outage","target":"model","ttl":300}`), 400, "bad_request", "ttl", false},
		{"latency missing", post(`{"mode":"latency","target":"model"}`), 400, "bad_request", "latency is required", false},
		{"latency on outage", post(`{"mode":"outage","target":"model","latency":"1s"}`), 400, "bad_request", "latency is only", false},
		{"retry_after on outage", post(`{"mode":"outage","target":"model","retry_after":"1s"}`), 400, "bad_request", "retry_after is only", false},
		{"retry_after zero", post(`{"mode":"throttle","target":"model","retry_after":"0s"}`), 400, "bad_request", "retry_after", false},
		{"cross-site POST", withHeader(post(valid), "Sec-Fetch-Site", "cross-site"), 403, "cross_origin", "", false},
		{"same-site POST", withHeader(post(valid), "Sec-Fetch-Site", "same-site"), 403, "cross_origin", "", false},
		{"cross-site GET", withHeader(req{method: "GET", auth: "Bearer " + testToken}, "Sec-Fetch-Site", "cross-site"), 403, "cross_origin", "", false},
		{"cross-site DELETE", withHeader(req{method: "DELETE", auth: "Bearer " + testToken}, "Sec-Fetch-Site", "cross-site"), 403, "cross_origin", "", false},
		{"foreign Origin", withHeader(post(valid), "Origin", "https://evil.example"), 403, "cross_origin", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newAdmin(t, testToken)
			pre := mustSet(t, fx.in, chaos.Spec{Mode: chaos.Latency, Target: chaos.Model(), Probability: 0.5, Latency: time.Second})
			before, _ := fx.in.Faults(context.Background())

			w := fx.do(tt.req)

			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			var eb errBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body %q: %v", w.Body, err)
			}
			if eb.Error.Code != tt.code || !strings.Contains(eb.Error.Message, tt.inMsg) {
				t.Fatalf("error = %+v, want code %q and a message containing %q", eb.Error, tt.code, tt.inMsg)
			}
			if got := w.Header().Get("WWW-Authenticate"); tt.wantAuth != strings.HasPrefix(got, "Bearer ") {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
			if tt.status == 405 && w.Header().Get("Allow") != "GET, POST, DELETE" {
				t.Fatalf("Allow = %q", w.Header().Get("Allow"))
			}
			after, _ := fx.in.Faults(context.Background())
			if !reflect.DeepEqual(before, after) || len(after) != 1 || after[0].ID != pre.ID {
				t.Fatalf("state changed by a rejected request:\nbefore %+v\nafter  %+v", before, after)
			}
			if len(fx.audits) != 0 {
				t.Fatalf("audit hook called for a rejected request: %+v", fx.audits)
			}
		})
	}
}

func TestAdminTooManyFaults(t *testing.T) {
	fx := newAdmin(t, testToken)
	for i := range chaos.MaxFaults {
		mustSet(t, fx.in, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("t" + string(rune('a'+i))), Probability: 1})
	}
	before, _ := fx.in.Faults(context.Background())
	w := fx.do(post(`{"mode":"outage","target":"model"}`))
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "too_many_faults") {
		t.Fatalf("17th fault: %d %s", w.Code, w.Body)
	}
	after, _ := fx.in.Faults(context.Background())
	if !reflect.DeepEqual(before, after) || len(fx.audits) != 0 {
		t.Fatal("a rejected 17th fault changed state")
	}
}

func TestAdminSetListClear(t *testing.T) {
	fx := newAdmin(t, testToken)
	w := fx.do(post(`{"mode":"outage","target":"tool:web_search","probability":1,"ttl":"5m","tenant":""}`))
	if w.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	var created struct {
		Fault map[string]any `json:"fault"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	f := created.Fault
	if f["mode"] != "outage" || f["target"] != "tool:web_search" || f["probability"] != 1.0 || f["ttl"] != "5m0s" ||
		f["remaining"] != "5m0s" || f["expires_at"] != "2026-03-14T15:14:26Z" || f["id"] == "" {
		t.Fatalf("created fault = %v", f)
	}
	if _, ok := f["latency"]; ok {
		t.Fatalf("outage shows a latency: %v", f)
	}
	if _, err := fx.in.Inject(context.Background(), chaos.Tool("web_search"), "acme"); !errors.Is(err, chaos.ErrOutage) {
		t.Fatalf("POSTed fault not applied: %v", err)
	}

	w = fx.do(req{method: "POST", ctype: "application/json; charset=utf-8", auth: "bearer " + testToken,
		body: `{"mode":"throttle","target":"model","tenant":"acme","probability":0.25}`})
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"retry_after":"1s"`) || !strings.Contains(w.Body.String(), `"ttl":"10m0s"`) {
		t.Fatalf("POST throttle with defaults: %d %s", w.Code, w.Body)
	}
	w = fx.do(post(`{"mode":"latency","target":"tools","latency":"2s","ttl":"1h"}`))
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"latency":"2s"`) {
		t.Fatalf("POST latency: %d %s", w.Code, w.Body)
	}

	w = fx.do(post(`{"mode":"malformed","target":"tool:calc","tenant":"","probability":0.1,"ttl":"","latency":"","retry_after":""}`))
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"ttl":"10m0s"`) {
		t.Fatalf("POST with empty optional strings: %d %s", w.Code, w.Body)
	}
	if n, _ := fx.in.Clear(context.Background()); n != 4 {
		t.Fatalf("%d faults active, want 4", n)
	}
	fx.audits = nil
	for _, b := range []string{
		`{"mode":"outage","target":"tool:web_search","probability":1,"ttl":"5m","tenant":""}`,
		`{"mode":"throttle","target":"model","tenant":"acme","probability":0.25}`,
		`{"mode":"latency","target":"tools","latency":"2s","ttl":"1h"}`,
	} {
		if w := fx.do(post(b)); w.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", b, w.Code, w.Body)
		}
	}

	fx.fc.Advance(90*time.Second + 500*time.Millisecond)
	w = fx.do(req{method: "GET", auth: "Bearer " + testToken})
	if w.Code != http.StatusOK {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	var list struct {
		Faults []map[string]any `json:"faults"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Faults) != 3 {
		t.Fatalf("GET listed %d faults: %s", len(list.Faults), w.Body)
	}
	if r := list.Faults[0]["remaining"]; r != "3m29s" {
		t.Fatalf("remaining = %v, want 3m29s", r)
	}
	if list.Faults[1]["tenant"] != "acme" || list.Faults[1]["probability"] != 0.25 {
		t.Fatalf("second fault = %v", list.Faults[1])
	}

	fx.fc.Advance(4 * time.Minute) // the first fault expires
	w = fx.do(req{method: "DELETE", auth: "Bearer " + testToken})
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"cleared":2}` {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	w = fx.do(req{method: "GET", auth: "Bearer " + testToken})
	if strings.TrimSpace(w.Body.String()) != `{"faults":[]}` {
		t.Fatalf("GET after DELETE: %s", w.Body)
	}

	if len(fx.audits) != 4 {
		t.Fatalf("%d audit events, want 4 (3 sets, 1 clear)", len(fx.audits))
	}
	for i, e := range fx.audits {
		wantAction := "set"
		if i == 3 {
			wantAction = "clear"
		}
		if e.Action != wantAction || !strings.HasPrefix(e.Principal, "token:") || len(e.Principal) != len("token:")+12 || e.RemoteAddr == "" {
			t.Fatalf("audit %d = %+v", i, e)
		}
	}
	if fx.audits[0].Fault.Target != chaos.Tool("web_search") || !fx.audits[0].At.Equal(t0) {
		t.Fatalf("first audit = %+v", fx.audits[0])
	}
	if fx.audits[3].Cleared != 2 || !fx.audits[3].At.Equal(t0.Add(5*time.Minute+30*time.Second+500*time.Millisecond)) {
		t.Fatalf("clear audit = %+v", fx.audits[3])
	}
	if strings.Contains(fx.audits[0].Principal, testToken[:6]) {
		t.Fatal("principal reveals the token")
	}
}

func TestAdminSameOriginBrowserAllowed(t *testing.T) {
	fx := newAdmin(t, testToken)
	r := post(`{"mode":"outage","target":"model"}`)
	r.header = map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://svc.local"}
	if w := fx.do(r); w.Code != http.StatusCreated {
		t.Fatalf("same-origin POST: %d %s", w.Code, w.Body)
	}
	fx2 := newAdmin(t, testToken, chaos.WithTrustedOrigin("https://ops.example.com"))
	r.header = map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://ops.example.com"}
	if w := fx2.do(r); w.Code != http.StatusCreated {
		t.Fatalf("trusted-origin POST: %d %s", w.Code, w.Body)
	}
}

func TestAdminLoopbackDevelopment(t *testing.T) {
	fx := newAdmin(t, "", chaos.WithoutAuthForLoopbackDevelopment())
	tests := []struct {
		remote string
		status int
	}{
		{"127.0.0.1:5555", http.StatusCreated},
		{"[::1]:5555", http.StatusCreated},
		{"10.0.0.7:5555", http.StatusForbidden},
		{"[2001:db8::1]:443", http.StatusForbidden},
		{"192.168.1.1:80", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			_, _ = fx.in.Clear(context.Background())
			before := len(fx.audits)
			w := fx.do(req{method: "POST", body: `{"mode":"outage","target":"model"}`, ctype: "application/json", remote: tt.remote})
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; %s", w.Code, tt.status, w.Body)
			}
			fs, _ := fx.in.Faults(context.Background())
			if changed := len(fs) == 1; changed != (tt.status == http.StatusCreated) {
				t.Fatalf("state changed = %v for status %d", changed, w.Code)
			}
			if tt.status == http.StatusCreated && !strings.HasPrefix(fx.audits[before].Principal, "loopback:") {
				t.Fatalf("principal = %q", fx.audits[before].Principal)
			}
		})
	}
}

func TestNewAdminHandlerConfig(t *testing.T) {
	in, _ := newInjector(t)
	tests := []struct {
		name  string
		token string
		opts  []chaos.AdminOption
		ok    bool
	}{
		{"token", testToken, nil, true},
		{"no token", "", nil, false},
		{"short token", "short", nil, false},
		{"token with space", "0123456789 abcdefgh", nil, false},
		{"loopback development", "", []chaos.AdminOption{chaos.WithoutAuthForLoopbackDevelopment()}, true},
		{"token and loopback development", testToken, []chaos.AdminOption{chaos.WithoutAuthForLoopbackDevelopment()}, false},
		{"tiny body limit", testToken, []chaos.AdminOption{chaos.WithMaxBodyBytes(10)}, false},
		{"bad trusted origin", testToken, []chaos.AdminOption{chaos.WithTrustedOrigin("not a url")}, false},
		{"nil audit hook", testToken, []chaos.AdminOption{chaos.WithAuditHook(nil)}, false},
		{"nil option", testToken, []chaos.AdminOption{nil}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := chaos.NewAdminHandler(in, tt.token, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if _, err := chaos.NewAdminHandler(in, ""); !errors.Is(err, chaos.ErrNoToken) {
		t.Fatalf("no token: %v, want ErrNoToken", err)
	}
	if _, err := chaos.NewAdminHandler(nil, testToken); err == nil {
		t.Fatal("nil controller accepted")
	}
}

// failing is a Controller whose store is down.
type failing struct{ chaos.Injector }

func (f *failing) Set(context.Context, chaos.Spec) (chaos.Fault, error) {
	return chaos.Fault{}, errors.New("dial tcp: connection refused")
}
func (f *failing) Clear(context.Context) (int, error) {
	return 0, errors.New("dial tcp: connection refused")
}

func TestAdminStoreUnavailable(t *testing.T) {
	h, err := chaos.NewAdminHandler(&failing{}, testToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{post(`{"mode":"outage","target":"model"}`), {method: "DELETE", auth: "Bearer " + testToken}} {
		w := httptest.NewRecorder()
		hr := httptest.NewRequest(r.method, "/admin/chaos", strings.NewReader(r.body))
		hr.Header.Set("Content-Type", r.ctype)
		hr.Header.Set("Authorization", r.auth)
		h.ServeHTTP(w, hr)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"unavailable"`) || strings.Contains(w.Body.String(), "tcp") {
			t.Fatalf("%s with the store down: %d %s", r.method, w.Code, w.Body)
		}
	}
}

func TestAdminProtect(t *testing.T) {
	const wantPrincipal = "token:" // followed by 12 hex digits of the token's SHA-256
	tests := []struct {
		name      string
		noAuth    bool
		method    string
		auth      string
		remote    string
		header    map[string]string
		status    int
		code      string
		challenge string // WWW-Authenticate, "" when none is expected
		principal string // prefix of AdminPrincipal when next is reached
	}{
		{name: "authorized GET", method: "GET", auth: "Bearer " + testToken, status: 200, principal: wantPrincipal},
		{name: "authorized POST", method: "POST", auth: "Bearer " + testToken, status: 200, principal: wantPrincipal},
		{name: "lower-case scheme", method: "GET", auth: "bearer " + testToken, status: 200, principal: wantPrincipal},
		{name: "missing token", method: "GET", status: 401, code: "unauthorized", challenge: `Bearer realm="chaos-admin"`},
		{name: "wrong token", method: "GET", auth: "Bearer nope-nope-nope-nope", status: 401, code: "unauthorized",
			challenge: `Bearer realm="chaos-admin", error="invalid_token"`},
		{name: "token prefix", method: "GET", auth: "Bearer " + testToken[:20], status: 401, code: "unauthorized",
			challenge: `Bearer realm="chaos-admin", error="invalid_token"`},
		{name: "basic scheme", method: "GET", auth: "Basic " + testToken, status: 401, code: "unauthorized",
			challenge: `Bearer realm="chaos-admin", error="invalid_token"`},
		{name: "cross-site GET", method: "GET", auth: "Bearer " + testToken, header: map[string]string{"Sec-Fetch-Site": "cross-site"},
			status: 403, code: "cross_origin"},
		{name: "foreign Origin POST", method: "POST", auth: "Bearer " + testToken, header: map[string]string{"Origin": "https://evil.example"},
			status: 403, code: "cross_origin"},
		{name: "same-origin browser", method: "GET", auth: "Bearer " + testToken,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://svc.local"}, status: 200, principal: wantPrincipal},
		{name: "loopback without auth", noAuth: true, method: "GET", remote: "127.0.0.1:5000", status: 200, principal: "loopback:127.0.0.1"},
		{name: "remote without auth", noAuth: true, method: "GET", remote: "192.0.2.7:5000", status: 403, code: "forbidden"},
		{name: "cross-site without auth", noAuth: true, method: "GET", remote: "[::1]:5000",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, code: "cross_origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fx *adminFixture
			if tt.noAuth {
				fx = newAdmin(t, "", chaos.WithoutAuthForLoopbackDevelopment())
			} else {
				fx = newAdmin(t, testToken)
			}
			calls := 0
			var principal string
			var hasPrincipal bool
			h := fx.h.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				principal, hasPrincipal = chaos.AdminPrincipal(r.Context())
				_, _ = w.Write([]byte("next"))
			}))
			hr := httptest.NewRequest(tt.method, "http://svc.local/admin/status", nil)
			if tt.auth != "" {
				hr.Header.Set("Authorization", tt.auth)
			}
			if tt.remote != "" {
				hr.RemoteAddr = tt.remote
			}
			for k, v := range tt.header {
				hr.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, hr)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.status != http.StatusOK {
				if calls != 0 {
					t.Fatalf("next called %d times on a refused request", calls)
				}
				var e errBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != tt.code {
					t.Fatalf("body %s (%v), want code %q", w.Body, err, tt.code)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				return
			}
			if calls != 1 || w.Body.String() != "next" {
				t.Fatalf("next called %d times, body %q", calls, w.Body)
			}
			if !hasPrincipal || !strings.HasPrefix(principal, tt.principal) {
				t.Fatalf("AdminPrincipal = %q, %v, want prefix %q", principal, hasPrincipal, tt.principal)
			}
			if tt.principal == wantPrincipal && len(principal) != len(wantPrincipal)+12 {
				t.Fatalf("AdminPrincipal = %q, want 12 hex digits after %q", principal, wantPrincipal)
			}
		})
	}
	if _, ok := chaos.AdminPrincipal(context.Background()); ok {
		t.Fatal("AdminPrincipal found a principal in a context that did not come through Protect")
	}
}

func TestAdminProtectNil(t *testing.T) {
	fx := newAdmin(t, testToken)
	defer func() {
		if recover() == nil {
			t.Fatal("Protect(nil) did not panic")
		}
	}()
	fx.h.Protect(nil)
}
