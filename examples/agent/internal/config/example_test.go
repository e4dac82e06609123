package config_test

import (
	"fmt"

	"github.com/llmops-go/llmops/examples/agent/internal/config"
)

func ExampleLoad() {
	env := map[string]string{"LLMOPS_ADMIN_TOKEN": "example-token-0123456789"}
	cfg, err := config.Load([]string{"-budget", "acme=25"}, func(k string) string { return env[k] }, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Addr, cfg.PrimaryModel, "→", cfg.DownshiftModel, cfg.Budgets.Tenants["acme"], cfg.TokenGenerated)

	_, err = config.Load(nil, func(k string) string { return map[string]string{"REDIS_URL": "localhost:6379"}[k] }, nil)
	fmt.Println(err)
	// Output:
	// 127.0.0.1:8080 gpt-4o → gpt-4o-mini 25000000 false
	// config: REDIS_URL: want redis://host:port/db, rediss:// or unix://
}
