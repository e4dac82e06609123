package redissync_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/chaos/redissync"
)

// When Redis cannot be reached, an instance still starts, keeps the faults
// it knows, and refuses changes it could not share with the fleet: a fault
// set through the admin API would otherwise apply to one instance only.
func Example_redisUnavailable() {
	// A loopback port with nothing listening on it.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()

	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	inj, _ := chaos.New()
	fleet, err := redissync.New(context.Background(), rdb, inj,
		redissync.WithErrorHandler(func(error) {})) // background reload errors
	fmt.Println("started:", err == nil)
	defer fleet.Close()

	_, err = fleet.Set(context.Background(), chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("web_search"), Probability: 1})
	fmt.Println("set refused:", err != nil)
	faults, _ := fleet.Faults(context.Background())
	fmt.Println("active faults:", len(faults))
	_, err = inj.Inject(context.Background(), chaos.Tool("web_search"), "")
	fmt.Println("outage injected:", errors.Is(err, chaos.ErrOutage))
	// Output:
	// started: true
	// set refused: true
	// active faults: 0
	// outage injected: false
}
