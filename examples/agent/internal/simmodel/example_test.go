package simmodel_test

import (
	"context"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmops-go/llmops/examples/agent/internal/simmodel"
)

// The simulated model answers the official OpenAI client on loopback.
func ExampleServer_Start() {
	sim, err := simmodel.New(simmodel.WithSeed(1))
	if err != nil {
		panic(err)
	}
	url, err := sim.Start()
	if err != nil {
		panic(err)
	}
	defer sim.Close(context.Background())

	client := openai.NewClient(option.WithBaseURL(url), option.WithAPIKey("simulated"))
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Model, resp.Choices[0].FinishReason, resp.Usage.TotalTokens > 0)
	// Output: gpt-4o stop true
}
