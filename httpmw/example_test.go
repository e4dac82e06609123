package httpmw_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/httpmw"
	"github.com/llmops-go/llmops/sli"
)

// Example wraps an agent handler with the middleware and gives its OpenAI
// client the Transport. The tenant "acme" is past 80 % of its $1 budget, so
// the request is downshifted: the Transport sends gpt-4o-mini instead of
// gpt-4o, prices the usage (1000 input and 200 output tokens at $0.15 and
// $0.60 per million) and the middleware settles those 270 micro-USD.
func Example() {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"answered by %s"}}],"usage":{"prompt_tokens":1000,"completion_tokens":200}}`, req.Model, req.Model)
	}))
	defer provider.Close()

	rec, _ := sli.New()
	enf, _ := budget.New(budget.NewMemory(), budget.WithDefaultLimit(1_000_000)) // $1 per month
	tr, _ := httpmw.NewTransport(nil, httpmw.WithRecorder(rec))
	llm := openai.NewClient(option.WithBaseURL(provider.URL+"/v1/"), option.WithAPIKey("key"),
		option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMaxRetries(0))

	agent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := llm.Chat.Completions.New(r.Context(), openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
		if err != nil {
			httpmw.MarkFailed(r.Context(), "model_error")
			http.Error(w, "model unavailable", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, resp.Choices[0].Message.Content)
	})
	handler, _ := httpmw.NewHandler(agent, httpmw.WithRecorder(rec),
		httpmw.WithTenant(httpmw.HeaderTenant("")), // development only: trust a header
		httpmw.WithBudget(enf, httpmw.FixedEstimate(850_000)), httpmw.WithDownshiftModel("gpt-4o-mini"))

	req := httptest.NewRequest(http.MethodPost, "/chat", nil)
	req.Header.Set("X-Tenant-ID", "acme")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	status, _ := enf.Status(req.Context(), "acme")
	fmt.Println(w.Header().Get(httpmw.HeaderBudgetDecision), "|", w.Body, "|", status.Spent, "micro-USD spent")
	// Output: downshift | answered by gpt-4o-mini | 270 micro-USD spent
}
