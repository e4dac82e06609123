package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/llmops-go/llmops/internal/drill"
)

// tokenEnv names the environment variable read when -token is not given.
const tokenEnv = "LLMOPS_ADMIN_TOKEN"

// options is the parsed command line.
type options struct {
	cfg      drill.Config
	json     bool
	slo      float64
	progress time.Duration
}

// headerFlag collects repeated -header "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string {
	if f == nil || len(f.h) == 0 {
		return ""
	}
	var parts []string
	for k, vs := range f.h {
		for _, v := range vs {
			parts = append(parts, k+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}

func (f *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	return nil
}

// parseFlags parses args into options and validates them as Run would;
// errors are usage errors (exit 2). flag.ErrHelp is returned for -h.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("chaosdrill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }

	var (
		o        options
		headers  headerFlag
		mode     string
		target   string
		prob     float64
		ttl      time.Duration
		tenant   string
		latency  time.Duration
		retry    time.Duration
		noFault  bool
		body     string
		bodyFile string
	)
	c := &o.cfg
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "service base URL")
	fs.StringVar(&c.AdminURL, "admin-url", "", "admin API base URL (default: -url); /admin/chaos is appended")
	fs.StringVar(&c.Token, "token", "", "admin bearer token (default: $"+tokenEnv+")")
	fs.StringVar(&mode, "mode", "", "fault mode: throttle, malformed, outage or latency")
	fs.StringVar(&target, "target", "", "fault target: model, tools or tool:<name>")
	fs.Float64Var(&prob, "probability", 1, "probability in [0,1] that a call at the target is faulted")
	fs.DurationVar(&ttl, "ttl", 0, "fault TTL, at most 24h (default: drill span + timeout + 1m)")
	fs.StringVar(&tenant, "tenant", "", "restrict the fault to this tenant")
	fs.DurationVar(&latency, "latency", 0, "injected delay (mode latency only)")
	fs.DurationVar(&retry, "retry-after", 0, "throttle Retry-After (mode throttle only; server default 1s)")
	fs.BoolVar(&noFault, "no-fault", false, "run a baseline: no fault, no admin call")
	fs.StringVar(&c.Method, "method", drill.DefaultMethod, "HTTP method of the load requests")
	fs.StringVar(&c.Path, "path", drill.DefaultPath, "path (and query) of the load requests")
	fs.StringVar(&body, "body", drill.DefaultBody, "request body")
	fs.StringVar(&bodyFile, "body-file", "", "read the request body from this file")
	fs.Var(&headers, "header", "request header \"Name: value\" (repeatable)")
	fs.Float64Var(&c.Rate, "rate", 10, "open-loop send rate, requests per second")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "load duration")
	fs.IntVar(&c.Requests, "requests", 0, "cap on the requests sent (0: rate × duration)")
	fs.IntVar(&c.Concurrency, "concurrency", drill.DefaultConcurrency, "bound on requests in flight; sends due at the bound are dropped and counted")
	fs.DurationVar(&c.Timeout, "timeout", drill.DefaultTimeout, "per-request timeout")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	fs.Float64Var(&o.slo, "slo", 0, "exit 1 when the success ratio is below this, e.g. 0.99 (0: no gate)")
	fs.DurationVar(&o.progress, "progress", time.Second, "progress interval on stderr (0: none)")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if c.Token == "" {
		c.Token = getenv(tokenEnv)
	}
	if noFault {
		// The flags that describe a fault make no sense for a baseline.
		for _, name := range []string{"mode", "target", "probability", "ttl", "tenant", "latency", "retry-after"} {
			if set[name] {
				return nil, fmt.Errorf("-no-fault runs a baseline: drop -%s", name)
			}
		}
	} else {
		if mode == "" || target == "" {
			return nil, errors.New("set -mode and -target for the fault, or -no-fault for a baseline")
		}
		m, err := drill.ParseMode(mode)
		if err != nil {
			return nil, err
		}
		c.Fault = &drill.Fault{
			Mode: m, Target: target, Probability: prob, TTL: ttl,
			Tenant: tenant, Latency: latency, RetryAfter: retry,
		}
		if c.Token == "" {
			return nil, fmt.Errorf("the admin API needs a token: set -token or %s", tokenEnv)
		}
	}
	switch {
	case set["body"] && set["body-file"]:
		return nil, errors.New("use -body or -body-file, not both")
	case bodyFile != "":
		data, err := os.ReadFile(bodyFile)
		if err != nil {
			return nil, fmt.Errorf("-body-file: %w", err)
		}
		c.Body = data
	case set["body"] || c.Method == drill.DefaultMethod:
		c.Body = []byte(body)
	}
	c.Header = headers.h
	if math.IsNaN(o.slo) || o.slo < 0 || o.slo > 1 {
		return nil, fmt.Errorf("-slo %v is outside [0,1]", o.slo)
	}
	if o.progress < 0 {
		return nil, fmt.Errorf("-progress %v is negative", o.progress)
	}
	if o.progress > 0 {
		c.ProgressInterval = o.progress
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}
