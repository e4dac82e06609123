package appinsights

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxResponseBody bounds how much of a response is read; the ingestion
// endpoint answers with a small JSON document.
const maxResponseBody = 1 << 20

// Statuses with which the ingestion endpoint asks for a later retry, for a
// whole request or (in a 206 response) for one item. 439 is its "too many
// requests over an extended time".
func retriable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, 439,
		http.StatusInternalServerError, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// trackResponse is the body of the ingestion endpoint's answer.
type trackResponse struct {
	ItemsReceived int         `json:"itemsReceived"`
	ItemsAccepted int         `json:"itemsAccepted"`
	Errors        []itemError `json:"errors"`
}

type itemError struct {
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// outcome is what one POST achieved.
type outcome struct {
	err        *TransmitError // nil when every item was accepted
	retry      []int          // indices (into the posted lines) worth one retry
	retryAfter time.Duration
}

// deliver posts lines (one encoded envelope each) in requests of at most
// maxBatchSize items. A request that fails with a retriable status or a
// transport error, and the retriable items of a 206, are posted once more,
// after the Retry-After the endpoint asked for when that fits in ctx. It
// returns how many items were finally not delivered and the last failure.
func (e *Exporter) deliver(ctx context.Context, lines [][]byte) (int, *TransmitError) {
	var lost int
	var last *TransmitError
	for start := 0; start < len(lines); start += e.cfg.maxBatchSize {
		chunk := lines[start:min(start+e.cfg.maxBatchSize, len(lines))]
		if ctx.Err() != nil {
			lost += len(chunk)
			last = &TransmitError{Err: context.Cause(ctx), Items: len(chunk)}
			continue
		}
		o := e.post(ctx, chunk)
		if o.err == nil {
			continue
		}
		e.report(o.err)
		failed := o.err.Items
		if len(o.retry) > 0 && e.wait(ctx, o.retryAfter) == nil {
			again := make([][]byte, len(o.retry))
			for i, idx := range o.retry {
				again[i] = chunk[idx]
			}
			o2 := e.post(ctx, again)
			failed -= len(again)
			if o2.err != nil {
				e.report(o2.err)
				failed += o2.err.Items
				last = o2.err
			} else if failed > 0 {
				last = o.err
			}
		} else {
			last = o.err
		}
		lost += failed
	}
	if lost == 0 {
		last = nil
	}
	return lost, last
}

func (e *Exporter) report(err *TransmitError) {
	if e.cfg.onError != nil {
		e.cfg.onError(err)
	}
}

// wait waits d on the Exporter's clock, unless the wait would end after
// ctx's deadline or exceed MaxRetryAfter (then it returns an error at once).
func (e *Exporter) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if d > MaxRetryAfter {
		return errors.New("retry-after too long")
	}
	if deadline, ok := ctx.Deadline(); ok && e.cfg.clock.Now().Add(d).After(deadline) {
		return context.DeadlineExceeded
	}
	t := e.cfg.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post sends one request: the lines gzip'd, as the Application Insights
// library does, and classifies the answer.
func (e *Exporter) post(ctx context.Context, lines [][]byte) outcome {
	n := len(lines)
	body, err := e.compress(lines)
	if err != nil {
		return outcome{err: &TransmitError{Err: err, Items: n}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return outcome{err: &TransmitError{Err: err, Items: n}}
	}
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/x-json-stream")

	resp, err := e.cfg.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// Ended by the caller (or by Shutdown): say so, do not retry.
			return outcome{err: &TransmitError{Err: context.Cause(ctx), Items: n}}
		}
		return outcome{err: &TransmitError{Err: err, Items: n}, retry: all(n)}
	}
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()

	after := retryAfter(resp.Header.Get("Retry-After"), e.cfg.clock.Now())
	switch status := resp.StatusCode; {
	case status == http.StatusOK:
		return outcome{}
	case status == http.StatusPartialContent:
		return partial(raw, readErr, n, after)
	case retriable(status):
		return outcome{err: &TransmitError{StatusCode: status, Items: n, RetryAfter: after}, retry: all(n), retryAfter: after}
	default:
		return outcome{err: &TransmitError{StatusCode: status, Items: n, RetryAfter: after}}
	}
}

// partial handles a 206: the items listed with a retriable status are worth
// a retry, the others are dropped. An unreadable answer is not retried (the
// accepted items would be sent twice) and counts the whole request as lost.
func partial(raw []byte, readErr error, n int, after time.Duration) outcome {
	var tr trackResponse
	if readErr != nil || json.Unmarshal(raw, &tr) != nil {
		return outcome{err: &TransmitError{StatusCode: http.StatusPartialContent, Err: errors.New("unreadable partial-success response"), Items: n, RetryAfter: after}}
	}
	seen := make(map[int]bool, len(tr.Errors))
	var retry []int
	for _, ie := range tr.Errors {
		if ie.Index < 0 || ie.Index >= n || seen[ie.Index] {
			continue
		}
		seen[ie.Index] = true
		if retriable(ie.StatusCode) {
			retry = append(retry, ie.Index)
		}
	}
	rejected := len(seen)
	if rejected == 0 {
		// No item named: rely on the counts.
		rejected = max(0, min(n, tr.ItemsReceived-tr.ItemsAccepted))
		if rejected == 0 {
			return outcome{}
		}
	}
	slices.Sort(retry)
	return outcome{
		err:        &TransmitError{StatusCode: http.StatusPartialContent, Items: rejected, RetryAfter: after},
		retry:      retry,
		retryAfter: after,
	}
}

func all(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// compress returns the lines gzip'd.
func (e *Exporter) compress(lines [][]byte) ([]byte, error) {
	var out bytes.Buffer
	zw, _ := e.gzips.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(&out)
	} else {
		zw.Reset(&out)
	}
	defer e.gzips.Put(zw)
	for _, l := range lines {
		if _, err := zw.Write(l); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out.Bytes(), nil
}
