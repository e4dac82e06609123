package httpmw

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// RetryPolicy makes the Transport retry a chat completion that got a 429
// or a 5xx (except 501 and 505) status. A retry waits for the response's
// Retry-After (retry-after-ms or Retry-After, seconds or HTTP date) plus up
// to 10 % jitter, or else for an exponential backoff with jitter:
// BaseDelay·2^(n-1) capped at MaxDelay, of which a random half is waited.
// A response asking to wait longer than MaxDelay is returned as it is.
//
// Retries happen before the response reaches the caller, so no retry ever
// follows a byte the caller has read; a connection error is never retried
// (the provider may have started work). Every attempt counts as a model
// call against the task's Limits, and a retry the limits forbid is not
// made: the last response is returned instead.
type RetryPolicy struct {
	MaxAttempts int           // attempts including the first; 0 or 1 disables retries
	BaseDelay   time.Duration // first backoff step; default 500ms
	MaxDelay    time.Duration // longest wait; default 8s
}

const (
	defaultRetryBase = 500 * time.Millisecond
	defaultRetryMax  = 8 * time.Second
	maxRetryAttempts = 10
	drainLimit       = 64 << 10
)

func (p RetryPolicy) validate() (RetryPolicy, error) {
	if p.MaxAttempts < 0 || p.MaxAttempts > maxRetryAttempts {
		return p, fmt.Errorf("httpmw: RetryPolicy.MaxAttempts %d outside [0, %d]", p.MaxAttempts, maxRetryAttempts)
	}
	if p.BaseDelay < 0 || p.MaxDelay < 0 {
		return p, fmt.Errorf("httpmw: RetryPolicy delays must not be negative")
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = defaultRetryBase
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = defaultRetryMax
	}
	if p.BaseDelay > p.MaxDelay {
		return p, fmt.Errorf("httpmw: RetryPolicy.BaseDelay %v above MaxDelay %v", p.BaseDelay, p.MaxDelay)
	}
	return p, nil
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests ||
		(code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported)
}

// jitter is the Transport's random source: a caller's rand.Source behind a
// mutex, or the runtime's goroutine-safe generator.
type jitter struct {
	mu  sync.Mutex
	src rand.Source
}

// float returns a number in [0, 1).
func (j *jitter) float() float64 {
	if j.src == nil {
		return rand.Float64()
	}
	j.mu.Lock()
	v := j.src.Uint64()
	j.mu.Unlock()
	return float64(v>>11) / (1 << 53)
}

// retryDelay returns how long to wait before attempt n+1 after resp (the
// n-th attempt's response), or false when the response asks to wait longer
// than the policy allows.
func (p RetryPolicy) retryDelay(n int, h http.Header, now time.Time, j *jitter) (time.Duration, bool) {
	if ra, ok := retryAfter(h, now); ok {
		if ra > p.MaxDelay {
			return 0, false
		}
		return ra + time.Duration(j.float()*float64(ra)/10), true
	}
	d := p.MaxDelay
	if n-1 < 30 && p.BaseDelay<<(n-1) < p.MaxDelay {
		d = p.BaseDelay << (n - 1)
	}
	return d/2 + time.Duration(j.float()*float64(d/2)), true
}

// retryAfter reads retry-after-ms (OpenAI) or Retry-After (seconds, with
// fraction, or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms >= 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s > 1e6 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d on c, or until ctx is done.
func sleep(ctx context.Context, c clock.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.NewTimer(d)
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// discard drains a little of a response body, so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
}
