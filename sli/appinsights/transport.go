package appinsights

import (
	"hash/fnv"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// transport wraps the RoundTripper the Application Insights library sends
// through. It reports failed attempts to the error handler, keeps track of
// the batches that were not delivered once Shutdown has started, and after
// Shutdown gave up (its context ended) fails every further attempt at once,
// so the library's lingering retry goroutines no longer touch the network.
type transport struct {
	base    http.RoundTripper
	onError func(error)

	abandoned atomic.Bool

	mu          sync.Mutex
	tracking    bool                // Shutdown has started
	undelivered map[uint64]struct{} // body hashes of failed batches not yet retried successfully
	lastErr     *TransmitError      // last failure while tracking
}

func newTransport(base http.RoundTripper, onError func(error)) *transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, onError: onError}
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	tracking := t.tracking
	t.mu.Unlock()
	var id uint64
	if tracking {
		id = bodyID(req)
	}

	if t.abandoned.Load() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		terr := &TransmitError{Err: ErrShutdown}
		t.failed(tracking, id, terr)
		return nil, terr
	}

	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.failed(tracking, id, &TransmitError{Err: err})
		return nil, err
	}
	// 206 is a partial success: the library resends the rejected items as a
	// new batch, which is tracked on its own.
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent {
		t.delivered(tracking, id)
	} else {
		t.failed(tracking, id, &TransmitError{StatusCode: resp.StatusCode})
	}
	return resp, nil
}

func (t *transport) failed(tracking bool, id uint64, terr *TransmitError) {
	if tracking {
		t.mu.Lock()
		if t.undelivered == nil {
			t.undelivered = make(map[uint64]struct{})
		}
		t.undelivered[id] = struct{}{}
		t.lastErr = terr
		t.mu.Unlock()
	}
	if t.onError != nil {
		t.onError(terr)
	}
}

func (t *transport) delivered(tracking bool, id uint64) {
	if tracking {
		t.mu.Lock()
		delete(t.undelivered, id)
		t.mu.Unlock()
	}
}

// startTracking makes later attempts count towards Shutdown's result.
func (t *transport) startTracking() {
	t.mu.Lock()
	t.tracking = true
	t.mu.Unlock()
}

// abandon makes every later attempt fail without a request.
func (t *transport) abandon() { t.abandoned.Store(true) }

// result returns how many batches tracked since startTracking are still
// undelivered, and the last failure.
func (t *transport) result() (int, *TransmitError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.undelivered), t.lastErr
}

// bodyID identifies a batch by a hash of its (compressed) body, so that a
// retry of a failed batch is recognised. The library builds its requests
// from a bytes.Buffer, so GetBody is set and cheap.
func bodyID(req *http.Request) uint64 {
	if req.GetBody == nil {
		return 0
	}
	body, err := req.GetBody()
	if err != nil {
		return 0
	}
	defer body.Close()
	h := fnv.New64a()
	if _, err := io.Copy(h, body); err != nil {
		return 0
	}
	return h.Sum64()
}
