package drill_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/llmops-go/llmops/internal/drill"
)

// A report as the chaosdrill command prints it.
func ExampleReport_WriteText() {
	rep := drill.Report{
		Method: "POST", URL: "http://127.0.0.1:8080/chat", Rate: 20, Duration: 30 * time.Second, Concurrency: 64,
		Fault: &drill.FaultStatus{
			Fault:   drill.Fault{Mode: drill.ModeOutage, Target: "tool:web_search", Probability: 1, TTL: 91 * time.Second},
			ID:      "f-7",
			Cleared: true, ClearedCount: 1,
		},
		Planned: 600, Sent: 600, Completed: 600,
		Status:    map[int]int{200: 588, 503: 12},
		Errors:    map[string]int{},
		Successes: 588, SuccessRatio: 0.98,
		Latency: drill.Latency{
			Count: 600, Exact: true,
			P50: 41200 * time.Microsecond, P95: 180 * time.Millisecond, P99: 420 * time.Millisecond, Max: 1210 * time.Millisecond,
		},
		Instances: map[string]int{"agent-1": 301, "agent-2": 299},
		Healing:   drill.Healing{Fallbacks: 571, Repairs: 3, Healed: 570},
		Elapsed:   30012 * time.Millisecond,
	}
	_ = rep.WriteText(os.Stdout)
	fmt.Println("meets 0.99:", rep.MeetsSLO(0.99))
	// Output:
	// drill      POST http://127.0.0.1:8080/chat  rate 20/s  duration 30s  concurrency 64
	// fault      outage tool:web_search p=1 ttl=1m31s id=f-7  cleared (1)
	// sends      planned 600  sent 600  dropped 0  late 0  canceled 0  elapsed 30.012s
	// status     200=588 503=12  transport errors=0
	// success    98.00% (588 of 600 completed; success = 2xx)
	// latency    p50=41.2ms  p95=180ms  p99=420ms  max=1.21s  (600 answers, exact)
	// instances  agent-1=301  agent-2=299
	// healing    fallbacks=571  repairs=3  downshifts=0  blocks=0  healed=570
	// meets 0.99: false
}

// A baseline drill (no fault) against a loopback service.
func ExampleRun() {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance-ID", "agent-1")
		w.Header().Set("X-Agent-Fallbacks", "1")
		w.WriteHeader(http.StatusOK)
	}))
	defer svc.Close()

	rep, err := drill.Run(context.Background(), drill.Config{
		URL:         svc.URL,
		Rate:        500,
		Requests:    25,
		Concurrency: 25,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sent:", rep.Sent, "status:", rep.Status, "instances:", rep.Instances)
	fmt.Println("fallbacks:", rep.Healing.Fallbacks, "success:", rep.SuccessRatio)
	// Output:
	// sent: 25 status: map[200:25] instances: map[agent-1:25]
	// fallbacks: 25 success: 1
}
