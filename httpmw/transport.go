package httpmw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/sli"
)

// Transport is an http.RoundTripper for the LLM client's http.Client. For
// chat completion requests (OpenAI-compatible .../chat/completions and Azure
// OpenAI .../openai/deployments/{deployment}/chat/completions, streamed or
// not) it:
//
//   - enforces the task's Limits before each call (a *CapError, no request);
//   - rewrites the model to the task's downshift model (the JSON model field,
//     or the Azure deployment segment of the path);
//   - asks a streaming request for its usage (stream_options.include_usage);
//   - applies chaos faults aimed at the model edge;
//   - retries 429 and 5xx when a RetryPolicy is set;
//   - reads the usage from the response as the caller reads it, prices it
//     with the rate card, records it and adds it to the task.
//
// Other requests pass through untouched. A Transport is safe for concurrent
// use by multiple goroutines.
type Transport struct {
	base  http.RoundTripper
	cfg   *config
	jit   jitter
	obs   *observer
	names interner // model names read from bodies
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport that sends requests through base
// (http.DefaultTransport when nil), configured by the options that apply to
// a Transport.
func NewTransport(base http.RoundTripper, opts ...Option) (*Transport, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, cfg: cfg, jit: jitter{src: cfg.rand}, obs: newObserver(cfg)}, nil
}

const sseType = "text/event-stream"

// call is one chat completion going through the Transport.
type call struct {
	task     *Task
	tenant   string
	provider string // gen_ai.provider.name
	model    string // the model requested (after a downshift rewrite)
	stream   bool
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, dep, depAt := classify(req.URL.Path)
	if kind == endpointOther || req.Method != http.MethodPost {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	task := TaskFrom(ctx)
	if task != nil {
		if err := t.cfg.limits.exceeded(task, 1); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	// One allocation holds the outgoing request, its body and, once the
	// call succeeds, the accounting of its response.
	inf := &inflight{t: t, ctx: ctx, c: call{task: task, provider: "openai"}}
	c := &inf.c
	var target string
	if task != nil {
		c.tenant, target = task.tenant, task.downshift
	}
	bodyTarget := target
	if kind == endpointAzure {
		bodyTarget = ""
	}
	newBody, info, edited := rewriteChatInPlace(body, bodyTarget, true, &t.names)
	from, path := info.model, req.URL.Path
	if kind == endpointAzure {
		c.provider = "azure.ai.openai"
		from = t.modelOf(dep)
		if target != "" && target != from {
			path = path[:depAt] + t.deploymentOf(target) + path[depAt+len(dep):]
		}
	}
	c.model, c.stream = from, info.stream
	if target != "" && from != "" && target != from {
		c.model = target
		t.obs.downshift(ctx, c.tenant, from, target)
	}

	if task != nil && c.model != "" {
		task.setModel(c.model)
	}
	// A shallow copy, as Request.WithContext makes: the Transport changes
	// only the body and, for an Azure downshift, the URL, which it copies.
	out := &inf.req
	*out = *req
	if path != req.URL.Path {
		u := *req.URL
		u.Path, u.RawPath = path, ""
		out.URL = &u
	}
	inf.setBody(out, newBody, req.GetBody, edited)
	return t.send(ctx, out, c, inf)
}

// send makes the attempts of one call.
func (t *Transport) send(ctx context.Context, req *http.Request, c *call, inf *inflight) (*http.Response, error) {
	policy := t.cfg.retry
	for attempt := 1; ; attempt++ {
		if err := t.cfg.limits.admit(c.task); err != nil {
			return nil, err
		}
		if attempt > 1 && req.GetBody != nil {
			req.Body, _ = req.GetBody() // a bytes reader never fails
		}
		start := t.cfg.clock.Now()
		resp, eff, err := t.attempt(ctx, req, c)
		if err != nil {
			t.obs.modelCall(ctx, c, "", tokens{}, t.cfg.clock.Now().Sub(start), errorType(err))
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return t.success(resp, eff, inf, start)
		}
		t.obs.modelCall(ctx, c, "", tokens{}, t.cfg.clock.Now().Sub(start), strconv.Itoa(resp.StatusCode))
		if attempt >= policy.MaxAttempts || !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		if c.task != nil && t.cfg.limits.exceeded(c.task, 1) != nil {
			return resp, nil
		}
		d, ok := policy.retryDelay(attempt, resp.Header, t.cfg.clock.Now(), &t.jit)
		if !ok {
			return resp, nil
		}
		discard(resp)
		if err := sleep(ctx, t.cfg.clock, d); err != nil {
			return nil, err
		}
	}
}

// attempt crosses the model edge once: chaos first, then the base transport.
func (t *Transport) attempt(ctx context.Context, req *http.Request, c *call) (*http.Response, chaos.Effect, error) {
	eff, err := t.cfg.chaos.Inject(ctx, chaos.Model(), c.tenant)
	if err != nil {
		if resp := synthesize(req, err); resp != nil {
			return resp, eff, nil
		}
		return nil, eff, err
	}
	resp, err := t.base.RoundTrip(req)
	return resp, eff, err
}

// success wraps a 2xx response body so its usage is read as it streams by.
func (t *Transport) success(resp *http.Response, eff chaos.Effect, inf *inflight, start time.Time) (*http.Response, error) {
	ct := resp.Header.Get("Content-Type")
	sse := len(ct) >= len(sseType) && strings.EqualFold(ct[:len(sseType)], sseType)
	inf.start = start
	inf.r.init(resp.Body, sse)
	inf.r.sink, inf.r.names = inf, &t.names
	resp.Body = &inf.r
	if !eff.Malformed() {
		return resp, nil
	}
	// A malformed fault: the provider answered (and billed) for real, so the
	// true usage is read first; the caller then gets a corrupted body.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxChatRequest))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	bad := eff.Corrupt(raw)
	resp.Body = io.NopCloser(bytes.NewReader(bad))
	resp.ContentLength = int64(len(bad))
	resp.Header.Set("Content-Length", strconv.Itoa(len(bad)))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// inflight is one chat completion call: the outgoing request and its body
// and, once the call succeeded, the usage reader of the response body the
// caller is reading and what accounting needs once it ends, in one
// allocation.
type inflight struct {
	t     *Transport
	ctx   context.Context
	c     call
	start time.Time
	req   http.Request
	body  byteBody
	raw   []byte // the request body
	r     usageReader
}

// setBody makes b the (replayable) body of req. getBody is the original
// request's GetBody, kept when the body was not edited.
func (f *inflight) setBody(req *http.Request, b []byte, getBody func() (io.ReadCloser, error), edited bool) {
	req.ContentLength = int64(len(b))
	if len(b) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
		return
	}
	f.raw = b
	f.body.Reset(b)
	req.Body = &f.body
	if !edited && getBody != nil {
		req.GetBody = getBody // it yields the same bytes
		return
	}
	req.GetBody = f.getBody
}

// getBody is the GetBody of an outgoing request.
func (f *inflight) getBody() (io.ReadCloser, error) {
	r := &byteBody{}
	r.Reset(f.raw)
	return r, nil
}

func (f *inflight) done(r usageResult) { f.t.finish(f.ctx, &f.c, f.start, r) }

// finish accounts for a response once its body ended.
func (t *Transport) finish(ctx context.Context, c *call, start time.Time, r usageResult) {
	d := t.cfg.clock.Now().Sub(start)
	errType := ""
	if r.err != nil {
		errType = "stream_error"
	}
	if !r.found {
		if c.task != nil {
			c.task.noUsage.Add(1)
		}
		t.obs.unaccounted(ctx, c, sli.UnaccountedNoUsage)
		t.obs.modelCall(ctx, c, r.model, tokens{}, d, errType)
		return
	}
	cost, err := t.obs.price(c.model, r.model, r.tokens)
	if err != nil {
		if c.task != nil {
			c.task.unpriced.Add(1)
		}
		t.obs.unaccounted(ctx, c, sli.UnaccountedUnknownModel)
	}
	if c.task != nil {
		c.task.add(r.tokens, cost)
	}
	t.obs.modelCall(ctx, c, r.model, r.tokens, d, errType)
}

// modelOf returns the model behind an Azure deployment.
func (t *Transport) modelOf(deployment string) string {
	if m, ok := t.cfg.models[deployment]; ok {
		return m
	}
	return deployment
}

// deploymentOf returns the Azure deployment of a model.
func (t *Transport) deploymentOf(model string) string {
	if d, ok := t.cfg.deployments[model]; ok {
		return d
	}
	return model
}

// synthesize turns a chaos fault at the model edge into the response a
// provider sends in that situation; it returns nil for other errors.
func synthesize(req *http.Request, err error) *http.Response {
	var thr *chaos.ThrottleError
	switch {
	case errors.As(err, &thr):
		h := http.Header{}
		secs := int64((thr.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 0), 10))
		h.Set("Retry-After-Ms", strconv.FormatInt(thr.RetryAfter.Milliseconds(), 10))
		return jsonResponse(req, http.StatusTooManyRequests, h,
			`{"error":{"message":"Rate limit reached. Please try again later.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
	case errors.Is(err, chaos.ErrOutage):
		return jsonResponse(req, http.StatusServiceUnavailable, http.Header{},
			`{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}`)
	}
	return nil
}

func jsonResponse(req *http.Request, code int, h http.Header, body string) *http.Response {
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// bodySlack is the room readBody leaves after a request body so that the
// edits of rewriteChatInPlace usually fit without a new array.
const bodySlack = 64

// readBody reads and closes a request body, into one array of the size its
// ContentLength announces (plus bodySlack) when it announces one.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	size := 512
	if cl := req.ContentLength; cl > 0 && cl <= maxChatRequest {
		size = int(cl) + bodySlack
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // room for the next read
		}
		n, err := req.Body.Read(b[len(b):min(cap(b), maxChatRequest+1)])
		b = b[:len(b)+n]
		if len(b) > maxChatRequest {
			return nil, ErrRequestTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("httpmw: reading the request body: %w", err)
		}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// byteBody is a request body read from memory.
type byteBody struct{ bytes.Reader }

// Close does nothing: there is nothing to release.
func (*byteBody) Close() error { return nil }

// errorType is the error.type attribute of a failed call.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, chaos.ErrThrottled), errors.Is(err, chaos.ErrOutage):
		return "chaos"
	}
	return "_OTHER"
}
