package service_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"context"

	"github.com/llmops-go/llmops/examples/agent/internal/config"
	"github.com/llmops-go/llmops/examples/agent/internal/service"
)

// The service runs in-process; its handler serves the chat API.
func ExampleNew() {
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"LLMOPS_ADMIN_TOKEN": "example-token-0123456789"}[k]
	}, nil)
	if err != nil {
		panic(err)
	}
	svc, err := service.New(cfg)
	if err != nil {
		panic(err)
	}
	defer svc.Close(context.Background())
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/chat", "application/json", strings.NewReader(`{"prompt":"What is the capital of France?"}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Agent-Model"), resp.Header.Get("X-Budget-Decision"))
	// Output: 200 gpt-4o allow
}
