package tools_test

import (
	"context"
	"fmt"

	"github.com/llmops-go/llmops/chaos"
	"github.com/llmops-go/llmops/examples/agent/internal/tools"
)

// A web search during an outage of the live search engine is served by the
// static knowledge base.
func ExampleSet_Call() {
	set, err := tools.New()
	if err != nil {
		panic(err)
	}
	ctx := tools.WithFault(context.Background(), &chaos.OutageError{Target: "tool:web_search"})
	out, err := set.Call(ctx, tools.WebSearch, []byte(`{"query":"what is pi"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Step, out.Fallback)
	// Output: static_kb true
}
