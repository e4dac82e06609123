package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/llmops-go/llmops/chaos"
)

func Example() {
	inj, err := chaos.New(chaos.WithSeed(1), chaos.WithObserver(chaos.ObserverFunc(func(mode, target string) {
		fmt.Println("injected:", mode, target)
	})))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Chaos is off: nothing happens.
	_, err = inj.Inject(ctx, chaos.Tool("web_search"), "acme")
	fmt.Println("before:", err)

	// Take web_search down for five minutes, for every tenant.
	if _, err := inj.Set(ctx, chaos.Spec{Mode: chaos.Outage, Target: chaos.Tool("web_search"), Probability: 1}); err != nil {
		panic(err)
	}
	_, err = inj.Inject(ctx, chaos.Tool("web_search"), "acme")
	var u interface{ Unavailable() bool }
	fmt.Println("outage:", errors.Is(err, chaos.ErrOutage), errors.As(err, &u) && u.Unavailable())

	// Other edges are untouched.
	_, err = inj.Inject(ctx, chaos.Model(), "acme")
	fmt.Println("model:", err)

	n, _ := inj.Clear(ctx)
	fmt.Println("cleared:", n)
	// Output:
	// before: <nil>
	// injected: outage tool:web_search
	// outage: true true
	// model: <nil>
	// cleared: 1
}

func ExampleEffect_Corrupt() {
	inj, _ := chaos.New(chaos.WithSeed(3))
	ctx := context.Background()
	_, _ = inj.Set(ctx, chaos.Spec{Mode: chaos.Malformed, Target: chaos.Tools(), Probability: 1})

	eff, _ := inj.Inject(ctx, chaos.Tool("calculator"), "")
	args := []byte(`{"expression":"2+2"}`)
	fmt.Println(eff.Malformed(), string(args) != string(eff.Corrupt(args)))
	// Output:
	// true true
}

func ExampleAdminHandler() {
	inj, _ := chaos.New()
	admin, err := chaos.NewAdminHandler(inj, "a-long-random-admin-token")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/chaos", admin)

	req := httptest.NewRequest(http.MethodPost, "/admin/chaos",
		strings.NewReader(`{"mode":"throttle","target":"model","probability":0.5,"ttl":"5m","retry_after":"5s"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer a-long-random-admin-token")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code)

	req = httptest.NewRequest(http.MethodDelete, "/admin/chaos", nil)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 201
	// 401 Bearer realm="chaos-admin"
}
