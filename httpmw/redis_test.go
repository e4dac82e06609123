package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/budget/redisstore"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/internal/redistest"
)

// TestRedisStoreDown runs the middleware on the Redis store: requests are
// admitted and settled while redis-server runs, and answered 503 under the
// default fail-closed policy once it is stopped.
func TestRedisStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	store, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	enf, err := budget.New(store, budget.WithDefaultLimit(1_000_000), budget.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpmw.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { httpmw.AddCost(r.Context(), 700) }),
		httpmw.WithTenant(httpmw.HeaderTenant("")), httpmw.WithBudget(enf, httpmw.FixedEstimate(1000)))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, tenantRequest("acme"))
	if w.Code != http.StatusOK || w.Header().Get(httpmw.HeaderBudgetDecision) != "allow" {
		t.Fatalf("store up: status %d, headers %v", w.Code, w.Header())
	}
	st, err := enf.Status(t.Context(), "acme")
	if err != nil || st.Spent != 700 || st.Held != 0 {
		t.Fatalf("store up: spent %d held %d, %v", st.Spent, st.Held, err)
	}

	srv.Stop()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, tenantRequest("acme"))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get(httpmw.HeaderBudgetDecision) != "block" {
		t.Fatalf("store down: status %d, headers %v", w.Code, w.Header())
	}
	if e := decodeError(t, w.Body); e["code"] != httpmw.CodeBudgetUnavailable {
		t.Fatalf("store down: error %v", e)
	}
}
