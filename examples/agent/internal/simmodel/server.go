package simmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// MaxBodyBytes bounds the request body the server reads.
const MaxBodyBytes = 4 << 20

// DefaultSeed is the seed used without WithSeed.
const DefaultSeed uint64 = 1

// ErrInvalidConfig is matched by the errors New returns for bad options.
var ErrInvalidConfig = errors.New("simmodel: invalid configuration")

// ErrStarted is returned by Start when the server already runs.
var ErrStarted = errors.New("simmodel: already started")

// Option configures New. It is sealed: only this package's With functions
// return Options.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	seed      uint64
	malformed float64
	latency   time.Duration
	clock     clock.Clock
}

// WithSeed sets the seed of every random choice (default DefaultSeed).
func WithSeed(seed uint64) Option { return optionFunc(func(c *config) { c.seed = seed }) }

// WithMalformedRate sets the probability, in [0,1], that a planned tool
// call's arguments are emitted malformed (default 0).
func WithMalformedRate(p float64) Option {
	return optionFunc(func(c *config) { c.malformed = p })
}

// WithLatency sets the delay before each response's first byte (default 0,
// at most one minute).
func WithLatency(d time.Duration) Option { return optionFunc(func(c *config) { c.latency = d }) }

// WithClock sets the clock whose timers the latency waits on and whose time
// stamps the responses (default clock.Real).
func WithClock(c clock.Clock) Option { return optionFunc(func(cf *config) { cf.clock = c }) }

// Server is the simulated model. It is safe for concurrent use by multiple
// goroutines.
type Server struct {
	cfg config

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// New returns a Server configured by opts.
func New(opts ...Option) (*Server, error) {
	cfg := config{seed: DefaultSeed, clock: clock.Real}
	for _, o := range opts {
		o.apply(&cfg)
	}
	cfg.clock = clock.Or(cfg.clock)
	if !(cfg.malformed >= 0 && cfg.malformed <= 1) {
		return nil, fmt.Errorf("%w: malformed rate %v not in [0,1]", ErrInvalidConfig, cfg.malformed)
	}
	if cfg.latency < 0 || cfg.latency > time.Minute {
		return nil, fmt.Errorf("%w: latency %v not in [0,1m]", ErrInvalidConfig, cfg.latency)
	}
	return &Server{cfg: cfg}, nil
}

// Handler returns the http.Handler serving the chat completions API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.serveChat)
	mux.HandleFunc("/chat/completions", s.serveChat)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// Start serves the API on a free loopback port (127.0.0.1) until Close.
// It returns the base URL an OpenAI client is given, ending in "/v1".
func (s *Server) Start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", ErrStarted
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("simmodel: listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}(s.srv, s.done)
	return s.urlLocked(), nil
}

// URL returns the base URL of a started server ("" before Start).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlLocked()
}

func (s *Server) urlLocked() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/v1"
}

// Close stops a started server: it waits, bounded by ctx, for requests in
// flight, then closes their connections. Closing a server that was not
// started, or twice, does nothing.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	return err
}

// serveChat answers one chat completion request.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "Only POST is supported.")
		return
	}
	var req chatRequest
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "Request body too large.")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "you must provide a model parameter")
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages must not be empty")
		return
	}
	if err := s.wait(r.Context()); err != nil {
		return // the client hung up
	}
	rnd := s.rand(&req)
	reply := s.answer(&req, rnd)
	reply.id = fmt.Sprintf("chatcmpl-sim%016x", rnd.Uint64())
	reply.created = s.cfg.clock.Now().Unix()
	reply.model = req.Model
	reply.usage = usageOf(&req, &reply)
	if req.Stream {
		writeStream(w, &reply, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	writeJSON(w, &reply)
}

// wait applies the configured latency on the clock, cut short by ctx.
func (s *Server) wait(ctx context.Context) error {
	if s.cfg.latency <= 0 {
		return nil
	}
	t := s.cfg.clock.NewTimer(s.cfg.latency)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rand returns the request's generator: the seed mixed with a hash of the
// model and the messages.
func (s *Server) rand(req *chatRequest) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(req.Model))
	for _, m := range req.Messages {
		h.Write([]byte{0})
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.text()))
		for _, tc := range m.ToolCalls {
			h.Write([]byte(tc.Function.Name))
			h.Write([]byte(tc.Function.Arguments))
		}
	}
	return rand.New(rand.NewPCG(s.cfg.seed, h.Sum64()))
}

// answer decides what the model says.
func (s *Server) answer(req *chatRequest, rnd *rand.Rand) reply {
	last := lastUser(req.Messages)
	prompt := ""
	if last >= 0 {
		prompt = req.Messages[last].text()
	}
	if len(req.Tools) == 0 {
		if tool, schema, args, ok := parseRepairPrompt(prompt); ok {
			return reply{content: repairArgs(tool, schema, args)}
		}
	}
	var results []toolResult
	for _, m := range req.Messages[last+1:] {
		if m.Role == "tool" {
			results = append(results, toolResult{id: m.ToolCallID, content: m.text()})
		}
	}
	if len(results) > 0 {
		return reply{content: summarize(req.Messages, results)}
	}
	if len(req.Tools) > 0 {
		if calls := s.plan(prompt, offered(req.Tools), rnd); len(calls) > 0 {
			return reply{toolCalls: calls}
		}
	}
	return reply{content: directAnswer(prompt)}
}

// lastUser returns the index of the last user message, or -1.
func lastUser(msgs []message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return i
		}
	}
	return -1
}

// offered returns the names of the function tools of a request.
func offered(tools []tool) map[string]bool {
	out := make(map[string]bool, len(tools))
	for _, t := range tools {
		if t.Function.Name != "" {
			out[t.Function.Name] = true
		}
	}
	return out
}

// tokens estimates the token count of s: about one per four bytes.
func tokens(s string) int64 { return int64(len(s)+3) / 4 }

// usageOf computes the usage of a reply to req.
func usageOf(req *chatRequest, rep *reply) usage {
	var in int64
	for _, m := range req.Messages {
		in += 4 + tokens(m.text())
		for _, tc := range m.ToolCalls {
			in += tokens(tc.Function.Name) + tokens(tc.Function.Arguments)
		}
	}
	for _, t := range req.Tools {
		in += tokens(t.Function.Name) + tokens(t.Function.Description) + tokens(string(t.Function.Parameters))
	}
	out := 1 + tokens(rep.content)
	for _, tc := range rep.toolCalls {
		out += 3 + tokens(tc.name) + tokens(tc.arguments)
	}
	return usage{prompt: in, completion: out}
}

// directAnswer answers a prompt that needs no tool.
func directAnswer(prompt string) string {
	p := strings.TrimSpace(prompt)
	if p == "" {
		return "Hello! Ask me something: I can look up facts, count primes and search the web."
	}
	return "You asked: " + clip(p, 200) + ". I can answer that without a tool: this is a simulated model, so the answer is a placeholder."
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
