// Command agent is a complete self-healing LLM agent service built on llmops,
// runnable offline:
//
//	go run ./examples/agent
//
// It listens on 127.0.0.1:8080 (-addr or LLMOPS_ADDR) and serves POST /chat,
// GET /health, GET /metrics (Prometheus), GET / (a status page) and the
// protected /admin/chaos API. By default it talks to a simulated model
// started in-process on loopback and keeps budgets and chaos faults in
// memory; LLM_BASE_URL/LLM_API_KEY/LLM_MODEL point it at an
// OpenAI-compatible endpoint, REDIS_URL shares budgets and faults across
// instances, OTEL_EXPORTER_OTLP_ENDPOINT and
// APPLICATIONINSIGHTS_CONNECTION_STRING add metric exporters. When
// LLMOPS_ADMIN_TOKEN is unset a token is generated and printed once.
//
// Run with -h for every flag. SIGINT or SIGTERM shut it down gracefully:
// requests in flight finish and their spend is settled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/examples/agent/internal/service"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run starts the service and serves until ctx ends. ready, when set, is
// called with the listening address. It returns the exit code: 0 after a
// clean shutdown, 1 when the service fails, 2 for a configuration error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(addr string)) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "agent:", err)
		return 2
	}
	svc, err := service.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "agent: start-up:", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintln(stderr, "agent:", err)
		_ = svc.Close(context.Background())
		return 1
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "llmops agent %s listening on %s (model %s via %s)\n", cfg.InstanceID, base, cfg.PrimaryModel, backend(cfg, svc))
	if cfg.TokenGenerated {
		fmt.Fprintf(stdout, "admin token (LLMOPS_ADMIN_TOKEN is unset; generated for this run): %s\n", cfg.AdminToken)
	}
	fmt.Fprintf(stdout, "try: curl -s %s/chat -H 'Content-Type: application/json' -d '{\"prompt\":\"What is the weather in Paris today?\"}'\n", base)

	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	code := 0
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "shutting down: finishing requests in flight")
	case err := <-served:
		fmt.Fprintln(stderr, "agent: serve:", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "agent: shutdown:", err)
		code = 1
	}
	if err := svc.Close(sctx); err != nil {
		fmt.Fprintln(stderr, "agent: close:", err)
		code = 1
	}
	return code
}

func backend(cfg config.Config, svc *service.Service) string {
	if cfg.LLMBaseURL == "" {
		return "the simulated model at " + svc.ModelURL()
	}
	return cfg.LLMBaseURL
}
