package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAdminBody bounds what the drill reads of an admin API answer.
const maxAdminBody = 64 << 10

// faultRequest is the POST /admin/chaos body of the contract.
type faultRequest struct {
	Mode        string  `json:"mode"`
	Target      string  `json:"target"`
	Probability float64 `json:"probability"`
	TTL         string  `json:"ttl"`
	Tenant      string  `json:"tenant,omitempty"`
	Latency     string  `json:"latency,omitempty"`
	RetryAfter  string  `json:"retry_after,omitempty"`
}

// faultResponse is the part of the 201 answer the drill keeps.
type faultResponse struct {
	Fault struct {
		ID        string `json:"id"`
		ExpiresAt string `json:"expires_at"`
	} `json:"fault"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type admin struct {
	client *http.Client
	url    string
	token  string
}

func newAdmin(c *http.Client, url, token string) *admin {
	ac := *c
	// A redirected POST would lose its body; report the 3xx instead.
	ac.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &admin{client: &ac, url: url, token: token}
}

// set posts f and returns the fault's id and expiry as the server tells them.
func (a *admin) set(ctx context.Context, f *Fault) (id string, expires time.Time, err error) {
	req := faultRequest{
		Mode:        f.Mode.String(),
		Target:      f.Target,
		Probability: f.Probability,
		TTL:         f.TTL.String(),
		Tenant:      f.Tenant,
	}
	if f.Latency > 0 {
		req.Latency = f.Latency.String()
	}
	if f.RetryAfter > 0 {
		req.RetryAfter = f.RetryAfter.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("drill: set fault: %w", err)
	}
	data, err := a.do(ctx, "set fault", http.MethodPost, body)
	if err != nil {
		return "", time.Time{}, err
	}
	var fr faultResponse
	if json.Unmarshal(data, &fr) == nil {
		id = fr.Fault.ID
		expires, _ = time.Parse(time.RFC3339Nano, fr.Fault.ExpiresAt)
	}
	return id, expires, nil
}

// clear deletes every active fault and returns how many the server cleared.
func (a *admin) clear(ctx context.Context) (int, error) {
	data, err := a.do(ctx, "clear faults", http.MethodDelete, nil)
	if err != nil {
		return 0, err
	}
	var cr struct {
		Cleared int `json:"cleared"`
	}
	if err := json.Unmarshal(data, &cr); err != nil {
		return 0, fmt.Errorf("drill: clear faults: admin API %s answered 200 with an unreadable body: %w", a.url, err)
	}
	return cr.Cleared, nil
}

// do sends one admin call; any 2xx is success (the contract promises 201
// for POST and 200 for DELETE).
func (a *admin) do(ctx context.Context, op, method string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url, rd)
	if err != nil {
		return nil, fmt.Errorf("drill: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if isDialError(err) {
			return nil, &UnreachableError{URL: a.url, Err: err}
		}
		return nil, fmt.Errorf("drill: %s: %s %s: %w", op, method, a.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminBody))
	if resp.StatusCode/100 != 2 {
		return nil, adminError(op, a.url, resp.StatusCode, data)
	}
	if err != nil {
		return nil, fmt.Errorf("drill: %s: reading the answer of %s: %w", op, a.url, err)
	}
	return data, nil
}

func adminError(op, url string, status int, body []byte) *AdminError {
	e := &AdminError{Op: op, URL: url, Status: status}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
		return e
	}
	e.Message = snippet(body)
	return e
}

// snippet returns the start of a non-JSON body, on one line.
func snippet(b []byte) string {
	const max = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s != "" && !strconv.CanBackquote(s) {
		s = strconv.Quote(s)
	}
	return s
}

// isDialError reports whether err means no connection could be made, so a
// request certainly did not reach the server.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
