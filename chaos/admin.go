package chaos

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// Admin handler limits and defaults.
const (
	// DefaultMaxBodyBytes bounds a POST body unless WithMaxBodyBytes says
	// otherwise.
	DefaultMaxBodyBytes = 8 << 10
	// MinTokenLen is the shortest bearer token NewAdminHandler accepts.
	MinTokenLen = 16
)

// ErrNoToken is returned by NewAdminHandler when it is given no token and
// no explicit loopback-development opt-out.
var ErrNoToken = errors.New("chaos: admin handler needs a bearer token")

// AuditEvent describes one change made through the admin handler.
type AuditEvent struct {
	// At is when the change was made.
	At time.Time
	// Principal names who made it: "token:<first 12 hex digits of the
	// token's SHA-256>" or, without auth, "loopback:<ip>".
	Principal string
	// RemoteAddr is the request's remote address.
	RemoteAddr string
	// Action is "set" or "clear".
	Action string
	// Fault is the fault that was set (Action "set").
	Fault Fault
	// Cleared is how many faults were cleared (Action "clear").
	Cleared int
}

// AdminOption configures an AdminHandler.
type AdminOption interface{ applyAdmin(*adminConfig) error }

type adminOptionFunc func(*adminConfig) error

func (f adminOptionFunc) applyAdmin(c *adminConfig) error { return f(c) }

type adminConfig struct {
	audit       func(AuditEvent)
	maxBody     int64
	noAuth      bool
	clock       clock.Clock
	trustedOrig []string
}

// WithAuditHook sets the function told about every change (set, clear).
// It runs on the request's goroutine after the change is made.
func WithAuditHook(f func(AuditEvent)) AdminOption {
	return adminOptionFunc(func(c *adminConfig) error {
		if f == nil {
			return fmt.Errorf("chaos: WithAuditHook(nil)")
		}
		c.audit = f
		return nil
	})
}

// WithMaxBodyBytes bounds the POST body (default DefaultMaxBodyBytes);
// larger bodies get 413.
func WithMaxBodyBytes(n int64) AdminOption {
	return adminOptionFunc(func(c *adminConfig) error {
		if n < 256 || n > 1<<20 {
			return fmt.Errorf("chaos: WithMaxBodyBytes(%d) outside [256, 1MiB]", n)
		}
		c.maxBody = n
		return nil
	})
}

// WithAdminClock sets the clock used for remaining TTLs and audit times.
// By default the handler uses the controller's clock when it has a
// Clock() method (*Injector and redissync.Sync do), else the wall clock.
func WithAdminClock(c clock.Clock) AdminOption {
	return adminOptionFunc(func(cfg *adminConfig) error {
		if c == nil {
			return fmt.Errorf("chaos: WithAdminClock(nil)")
		}
		cfg.clock = c
		return nil
	})
}

// WithTrustedOrigin lets browser requests from origin (e.g.
// "https://ops.example.com") through the cross-origin check. Bearer auth
// still applies.
func WithTrustedOrigin(origin string) AdminOption {
	return adminOptionFunc(func(c *adminConfig) error {
		c.trustedOrig = append(c.trustedOrig, origin)
		return nil
	})
}

// WithoutAuthForLoopbackDevelopment turns bearer authentication off. The
// handler then serves only requests whose RemoteAddr is a loopback address
// and answers 403 to every other. It is meant for a developer's machine:
// behind a reverse proxy on the same host every request looks local, so
// never use it there. NewAdminHandler must then be given an empty token.
func WithoutAuthForLoopbackDevelopment() AdminOption {
	return adminOptionFunc(func(c *adminConfig) error {
		c.noAuth = true
		return nil
	})
}

// AdminHandler is the http.Handler of the chaos admin API, usually mounted
// at /admin/chaos:
//
//	GET     list the active faults with their remaining TTL    200
//	POST    set one fault (application/json)                   201
//	DELETE  clear every fault                                  200
//
// It is safe for concurrent use by multiple goroutines.
type AdminHandler struct {
	ctrl      Controller
	cfg       adminConfig
	clock     clock.Clock
	digest    [sha256.Size]byte
	principal string
	cop       *http.CrossOriginProtection
}

// NewAdminHandler returns the admin handler driving ctrl, accepting
// requests that carry "Authorization: Bearer <token>". token must be at
// least MinTokenLen printable ASCII characters; an empty token is an error
// (ErrNoToken) unless WithoutAuthForLoopbackDevelopment is given.
func NewAdminHandler(ctrl Controller, token string, opts ...AdminOption) (*AdminHandler, error) {
	if ctrl == nil {
		return nil, fmt.Errorf("chaos: NewAdminHandler with a nil Controller")
	}
	cfg := adminConfig{maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("chaos: nil AdminOption")
		}
		if err := o.applyAdmin(&cfg); err != nil {
			return nil, err
		}
	}
	h := &AdminHandler{ctrl: ctrl, cfg: cfg, cop: http.NewCrossOriginProtection()}
	for _, o := range cfg.trustedOrig {
		if err := h.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("chaos: WithTrustedOrigin: %w", err)
		}
	}
	switch {
	case cfg.noAuth && token != "":
		return nil, fmt.Errorf("chaos: WithoutAuthForLoopbackDevelopment given together with a token")
	case cfg.noAuth:
	case token == "":
		return nil, ErrNoToken
	case len(token) < MinTokenLen:
		return nil, fmt.Errorf("chaos: admin token shorter than %d characters", MinTokenLen)
	default:
		for i := 0; i < len(token); i++ {
			if c := token[i]; c <= ' ' || c > '~' {
				return nil, fmt.Errorf("chaos: admin token must be printable ASCII without spaces")
			}
		}
		h.digest = sha256.Sum256([]byte(token))
		h.principal = "token:" + hex.EncodeToString(h.digest[:])[:12]
	}
	switch {
	case cfg.clock != nil:
		h.clock = cfg.clock
	default:
		if c, ok := ctrl.(interface{ Clock() clock.Clock }); ok {
			h.clock = c.Clock()
		} else {
			h.clock = clock.Real
		}
	}
	return h, nil
}

// wireFault is a fault as the admin API shows it.
type wireFault struct {
	ID          string  `json:"id"`
	Mode        string  `json:"mode"`
	Target      string  `json:"target"`
	Tenant      string  `json:"tenant"`
	Probability float64 `json:"probability"`
	TTL         string  `json:"ttl"`
	Latency     string  `json:"latency,omitempty"`
	RetryAfter  string  `json:"retry_after,omitempty"`
	ExpiresAt   string  `json:"expires_at"`
	Remaining   string  `json:"remaining"`
}

func toWire(f Fault, now time.Time) wireFault {
	w := wireFault{
		ID:          f.ID,
		Mode:        f.Mode.String(),
		Target:      f.Target.String(),
		Tenant:      f.Tenant,
		Probability: f.Probability,
		TTL:         f.TTL.String(),
		ExpiresAt:   f.ExpiresAt.UTC().Format(time.RFC3339),
	}
	if f.Mode == Latency {
		w.Latency = f.Latency.String()
	}
	if f.Mode == Throttle {
		w.RetryAfter = f.RetryAfter.String()
	}
	rem := f.Remaining(now)
	if rem >= time.Second {
		rem = rem.Truncate(time.Second)
	} else {
		rem = rem.Truncate(time.Millisecond)
	}
	w.Remaining = rem.String()
	return w
}

// ServeHTTP implements http.Handler. Checks run in this order, and a
// request that fails one never reaches the controller: loopback (without
// auth), cross-origin (403), bearer token (401), method (405), content
// type (415), body size (413), body (400), fault validation (400).
func (h *AdminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	principal, ok := h.guard(w, r)
	if !ok {
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.list(w, r)
	case http.MethodPost:
		h.set(w, r, principal)
	case http.MethodDelete:
		h.clear(w, r, principal)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+strconv.Quote(r.Method)+" not allowed; use GET, POST or DELETE")
	}
}

// Protect returns a handler that serves next behind the same
// authentication as the admin API, for other operator endpoints that share
// its token (a read-only status view, say). Every response gets
// "Cache-Control: no-store", and a request reaches next only if it passes,
// in this order:
//
//   - without auth (WithoutAuthForLoopbackDevelopment): its RemoteAddr is a
//     loopback address, else 403 {"error":{"code":"forbidden",…}};
//   - the cross-origin check (WithTrustedOrigin applies), else 403
//     {"error":{"code":"cross_origin",…}};
//   - with auth: "Authorization: Bearer <token>" matches the handler's
//     token (SHA-256 digests compared in constant time), else 401
//     {"error":{"code":"unauthorized",…}} with a WWW-Authenticate challenge.
//
// next sees the caller's identity through AdminPrincipal. Method routing is
// left to next (or to the ServeMux pattern it is mounted with). Protect
// panics if next is nil. The returned handler is safe for concurrent use
// if next is.
func (h *AdminHandler) Protect(next http.Handler) http.Handler {
	if next == nil {
		panic("chaos: AdminHandler.Protect(nil)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, ok := h.guard(w, r)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal)))
	})
}

// principalKey is the context key of the principal Protect passes on.
type principalKey struct{}

// AdminPrincipal returns who made a request that AdminHandler.Protect let
// through, as AuditEvent.Principal names it ("token:<first 12 hex digits
// of the token's SHA-256>" or "loopback:<ip>"); ok is false for a context
// that did not come through Protect.
func AdminPrincipal(ctx context.Context) (principal string, ok bool) {
	principal, ok = ctx.Value(principalKey{}).(string)
	return principal, ok
}

// guard runs the checks the admin API and Protect share — loopback
// (without auth), cross-origin, bearer token — and writes the refusal when
// one fails. It returns the request's principal and whether it may go on.
func (h *AdminHandler) guard(w http.ResponseWriter, r *http.Request) (string, bool) {
	w.Header().Set("Cache-Control", "no-store")
	principal := h.principal
	if h.cfg.noAuth {
		ip, ok := loopbackIP(r.RemoteAddr)
		if !ok {
			writeError(w, http.StatusForbidden, "forbidden", "without authentication the chaos admin API serves loopback clients only")
			return "", false
		}
		principal = "loopback:" + ip
	}
	if err := h.crossOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, "cross_origin", err.Error())
		return "", false
	}
	if !h.cfg.noAuth {
		if msg, ok := h.authenticate(r); !ok {
			v := `Bearer realm="chaos-admin"`
			if msg != "missing bearer token" {
				v += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", v)
			writeError(w, http.StatusUnauthorized, "unauthorized", msg)
			return "", false
		}
	}
	return principal, true
}

// crossOrigin refuses browser requests made from another site: any method
// whose Sec-Fetch-Site says cross-site or same-site, and, through
// net/http's CrossOriginProtection, state-changing requests whose Origin
// does not match the Host.
func (h *AdminHandler) crossOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		if h.cop.Check(withUnsafeMethod(r)) != nil {
			return errors.New("cross-site browser requests are refused")
		}
	}
	if h.cop.Check(r) != nil {
		return errors.New("cross-origin browser requests are refused")
	}
	return nil
}

// withUnsafeMethod returns r as a POST, so that CrossOriginProtection
// judges it even when it is a GET (its trusted origins still apply).
func withUnsafeMethod(r *http.Request) *http.Request {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		return r
	}
	c := r.Clone(r.Context())
	c.Method = http.MethodPost
	return c
}

// authenticate checks the bearer token by comparing SHA-256 digests in
// constant time, so neither the content nor the length of the token leaks
// through timing.
func (h *AdminHandler) authenticate(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "missing bearer token", false
	}
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "authorization scheme must be Bearer", false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(got[:], h.digest[:]) != 1 {
		return "invalid bearer token", false
	}
	return "", true
}

func loopbackIP(remoteAddr string) (string, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", false
	}
	return ip.String(), true
}

func (h *AdminHandler) list(w http.ResponseWriter, r *http.Request) {
	fs, err := h.ctrl.Faults(r.Context())
	if err != nil {
		h.controllerError(w, err)
		return
	}
	now := h.clock.Now()
	out := struct {
		Faults []wireFault `json:"faults"`
	}{Faults: make([]wireFault, 0, len(fs))}
	for _, f := range fs {
		if f.Active(now) {
			out.Faults = append(out.Faults, toWire(f, now))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *AdminHandler) set(w http.ResponseWriter, r *http.Request, principal string) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" || !charsetOK(params) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json, got "+strconv.Quote(ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body larger than %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "cannot read body")
		return
	}
	spec, err := decodeSpec(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f, err := h.ctrl.Set(r.Context(), spec)
	if err != nil {
		h.controllerError(w, err)
		return
	}
	now := h.clock.Now()
	if h.cfg.audit != nil {
		h.cfg.audit(AuditEvent{At: now, Principal: principal, RemoteAddr: r.RemoteAddr, Action: "set", Fault: f})
	}
	writeJSON(w, http.StatusCreated, struct {
		Fault wireFault `json:"fault"`
	}{toWire(f, now)})
}

func charsetOK(params map[string]string) bool {
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

func (h *AdminHandler) clear(w http.ResponseWriter, r *http.Request, principal string) {
	n, err := h.ctrl.Clear(r.Context())
	if err != nil {
		h.controllerError(w, err)
		return
	}
	if h.cfg.audit != nil {
		h.cfg.audit(AuditEvent{At: h.clock.Now(), Principal: principal, RemoteAddr: r.RemoteAddr, Action: "clear", Cleared: n})
	}
	writeJSON(w, http.StatusOK, struct {
		Cleared int `json:"cleared"`
	}{n})
}

// controllerError maps a controller's error to a response.
func (h *AdminHandler) controllerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalidFault):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrTooManyFaults):
		writeError(w, http.StatusConflict, "too_many_faults", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "request cancelled")
	default:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the fault store is unavailable")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, struct {
		Error body `json:"error"`
	}{body{code, msg}})
}
