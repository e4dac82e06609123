package strictjson_test

import (
	"fmt"

	"github.com/llmops-go/llmops/internal/strictjson"
)

// Check refuses what encoding/json would quietly accept.
func ExampleCheck() {
	known := func(k string) bool { return k == "prompt" }
	for _, body := range []string{
		`{"prompt": "hello"}`,
		`{"PROMPT": "hello"}`,
		`{"prompt": "a", "prompt": "b"}`,
		`{"prompt": "hello"}}`,
		`{"prompt": null}`,
	} {
		fmt.Println(strictjson.Check([]byte(body), known) == nil)
	}
	// Output:
	// true
	// false
	// false
	// false
	// false
}
