package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Response headers the drill reads (the example service's contract).
const (
	HeaderInstance       = "X-Instance-ID"
	HeaderBudgetDecision = "X-Budget-Decision"
	HeaderModel          = "X-Agent-Model"
	HeaderFallbacks      = "X-Agent-Fallbacks"
	HeaderRepairs        = "X-Agent-Repairs"
)

// maxDrain bounds what the drill reads of one load answer; the rest is
// dropped with the connection.
const maxDrain = 4 << 20

// maxErrBody bounds what the drill decodes of a 429 to find its error code.
const maxErrBody = 64 << 10

// runLoad sends c.planned requests open-loop, at start + i/Rate, never more
// than c.Concurrency at once, and returns the time from the first send to
// the last answer. It returns when every request it started has ended.
func runLoad(ctx context.Context, c *resolved, client *http.Client, col *collector) time.Duration {
	clk := c.Clock
	start := clk.Now()
	sem := make(chan struct{}, c.Concurrency)
	var wg sync.WaitGroup

	stopProgress := startProgress(c, col, sem, start)
	defer stopProgress()

	interval := time.Duration(c.interval * float64(time.Second))
	for i := 0; i < c.planned; i++ {
		due := start.Add(time.Duration(float64(i) * c.interval * float64(time.Second)))
		if !waitUntil(ctx, c, due) {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			col.droppedOne()
			continue
		}
		late := clk.Now().Sub(due) > interval
		col.sentOne()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := send(ctx, c, client)
			r.late = late
			col.add(r, err)
		}()
	}
	wg.Wait()
	return clk.Now().Sub(start)
}

// waitUntil waits for the clock to reach due; false when ctx ended first.
func waitUntil(ctx context.Context, c *resolved, due time.Time) bool {
	d := due.Sub(c.Clock.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := c.Clock.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C():
		return ctx.Err() == nil
	}
}

// startProgress reports a Snapshot every ProgressInterval from one
// goroutine, and a last one when the returned stop function is called; stop
// waits for the goroutine to end.
func startProgress(c *resolved, col *collector, sem chan struct{}, start time.Time) (stop func()) {
	if c.Progress == nil {
		return func() {}
	}
	snap := func() Snapshot { return col.snapshot(c.Clock.Now().Sub(start), len(sem)) }
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			t := c.Clock.NewTimer(c.ProgressInterval)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C():
				c.Progress(snap())
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		c.Progress(snap())
	}
}

// send performs one load request and reads what the report needs.
func send(ctx context.Context, c *resolved, client *http.Client) (result, error) {
	rctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(rctx, c.Method, c.loadURL, body)
	if err != nil {
		return result{errKind: ErrKindOther}, err
	}
	for k, vs := range c.Header {
		if strings.EqualFold(k, "Host") && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}

	t0 := c.Clock.Now()
	resp, err := client.Do(req)
	if err != nil {
		return failed(ctx, err), err
	}
	r := result{status: resp.StatusCode}
	var readErr error
	if resp.StatusCode == http.StatusTooManyRequests {
		var data []byte
		data, readErr = io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		var eb errorBody
		r.block = json.Unmarshal(data, &eb) == nil && eb.Error.Code == "budget_exceeded"
	} else {
		_, readErr = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	resp.Body.Close()
	if readErr != nil {
		// The answer broke off mid-body: a transport failure, not an answer.
		return failed(ctx, readErr), readErr
	}
	r.latency = c.Clock.Now().Sub(t0)

	h := resp.Header
	r.instance = h.Get(HeaderInstance)
	r.model = h.Get(HeaderModel)
	r.decision = strings.ToLower(strings.TrimSpace(h.Get(HeaderBudgetDecision)))
	var bad1, bad2 bool
	r.fallbacks, bad1 = count(h, HeaderFallbacks)
	r.repairs, bad2 = count(h, HeaderRepairs)
	r.badHeader = bad1 || bad2
	return r, nil
}

// count parses a non-negative integer header; absent is 0, anything else
// invalid is 0 and reported.
func count(h http.Header, name string) (n int64, bad bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, true
	}
	return n, false
}

// failed classifies a transport error; a request aborted because the
// caller's ctx ended is a cancellation, not a failure of the service.
func failed(ctx context.Context, err error) result {
	if ctx.Err() != nil {
		return result{canceled: true}
	}
	return result{errKind: errKind(err)}
}

func errKind(err error) string {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return ErrKindTimeout
	case errors.As(err, &dns):
		return ErrKindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrKindRefused
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE):
		return ErrKindReset
	}
	return ErrKindOther
}
