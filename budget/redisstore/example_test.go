package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/redisstore"
	"github.com/redis/go-redis/v9"
)

// Wiring an Enforcer to Redis. The same code works with a ClusterClient or
// a Ring.
func Example() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // let the Enforcer's timeout bound socket I/O
	})
	defer rdb.Close()
	store, err := redisstore.New(rdb)
	if err != nil {
		panic(err)
	}
	limit, _ := budget.FromUSD(25)
	enforcer, err := budget.New(store,
		budget.WithDefaultLimit(limit),
		budget.WithTimeout(250*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	_ = enforcer // enforcer.Reserve(ctx, tenant, estimate) ...
	_ = context.Background()
}

// Tenant ids are encoded into the hash tag, so hostile ids stay inside it.
func ExampleStore_Key() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"}) // never dialled
	defer rdb.Close()
	store, _ := redisstore.New(rdb)
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, tenant := range []string{"acme", "a}:{b", "line\nbreak"} {
		fmt.Println(store.Key(tenant, feb))
	}
	// Output:
	// llmops:budget:{YWNtZQ}:1769904000000
	// llmops:budget:{YX06e2I}:1769904000000
	// llmops:budget:{bGluZQpicmVhaw}:1769904000000
}
