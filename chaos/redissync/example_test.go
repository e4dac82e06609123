package redissync_test

import (
	"context"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/chaos/redissync"
)

// Every instance of the service runs the same wiring: its injector follows
// the faults stored in Redis, and its admin handler writes there, so a POST
// that reaches any instance applies to all of them within a second.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer rdb.Close()

	inj, err := chaos.New()
	if err != nil {
		panic(err)
	}
	fleet, err := redissync.New(context.Background(), rdb, inj)
	if err != nil {
		panic(err)
	}
	defer fleet.Close()

	admin, err := chaos.NewAdminHandler(fleet, os.Getenv("LLMOPS_ADMIN_TOKEN"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/chaos", admin)
	// Edges call inj.Inject(ctx, chaos.Model(), tenant) and
	// inj.Inject(ctx, chaos.Tool(name), tenant); serve mux.
}
