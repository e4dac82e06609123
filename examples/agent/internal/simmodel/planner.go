package simmodel

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// Tool names the simulation knows how to call.
const (
	ToolLookupFact    = "lookup_fact"
	ToolComputePrimes = "compute_primes"
	ToolWebSearch     = "web_search"
)

var (
	numberRE  = regexp.MustCompile(`\b\d{1,9}\b`)
	aboutRE   = regexp.MustCompile(`(?i)\b(?:about|of|is|are)\s+(?:the\s+)?([\p{L}\p{N}][\p{L}\p{N} .\-]{0,60})`)
	knownTerm = regexp.MustCompile(`\b(paris|redis|go|opentelemetry|llmops|everest|light|pi)\b`)
)

// plan turns a prompt into tool calls, for the tools offered.
func (s *Server) plan(prompt string, tools map[string]bool, rnd *rand.Rand) []toolCall {
	low := strings.ToLower(prompt)
	var calls []toolCall
	add := func(name string, args map[string]any) {
		calls = append(calls, toolCall{
			id:        fmt.Sprintf("call_%012x", rnd.Uint64()&0xffffffffffff),
			name:      name,
			arguments: s.emit(args, rnd),
		})
	}
	if tools[ToolComputePrimes] && strings.Contains(low, "prime") {
		limit := 100
		if m := numberRE.FindString(prompt); m != "" {
			limit, _ = strconv.Atoi(m)
		}
		add(ToolComputePrimes, map[string]any{"limit": max(2, min(limit, 1_000_000))})
	}
	if tools[ToolLookupFact] && wantsFact(low) {
		add(ToolLookupFact, map[string]any{"topic": topicOf(prompt)})
	}
	if len(calls) == 0 && tools[ToolWebSearch] {
		add(ToolWebSearch, map[string]any{"query": clip(strings.TrimSpace(prompt), 200), "max_results": 3})
	}
	return calls
}

// wantsFact reports whether a prompt asks for a fact.
func wantsFact(low string) bool {
	for _, w := range []string{"fact", "who ", "capital", "define", "how tall", "how fast", "how high"} {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// topicOf extracts the topic of a fact question.
func topicOf(prompt string) string {
	low := strings.ToLower(prompt)
	if t := knownTerm.FindString(low); t != "" {
		return t
	}
	if m := aboutRE.FindStringSubmatch(prompt); m != nil {
		t := strings.TrimRight(strings.TrimSpace(m[1]), " .?!")
		if t != "" {
			return strings.ToLower(t)
		}
	}
	return "llmops"
}

// emit encodes tool arguments, malformed with the configured probability:
// wrapped in a Markdown fence, or with an integer written as a string.
func (s *Server) emit(args map[string]any, rnd *rand.Rand) string {
	b, _ := json.Marshal(args)
	if s.cfg.malformed <= 0 || rnd.Float64() >= s.cfg.malformed {
		return string(b)
	}
	if rnd.IntN(2) == 1 {
		bad := make(map[string]any, len(args))
		changed := false
		for k, v := range args {
			if n, ok := v.(int); ok && !changed {
				bad[k], changed = strconv.Itoa(n), true
				continue
			}
			bad[k] = v
		}
		if changed {
			b, _ = json.Marshal(bad)
			return string(b)
		}
	}
	return "```json\n" + string(b) + "\n```"
}

// summarize writes the final answer from the tool results.
func summarize(msgs []message, results []toolResult) string {
	names := map[string]string{}
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Function.Name
		}
	}
	var b strings.Builder
	b.WriteString("Here is what I found.")
	for _, r := range results {
		name := names[r.id]
		if name == "" {
			name = "tool"
		}
		b.WriteString("\n- ")
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(clip(gist(r.content), 240))
	}
	return b.String()
}

// gist returns the readable part of a tool result: its "answer", "summary"
// or "text" field when it is a JSON object that has one, else the result.
func gist(content string) string {
	var obj map[string]any
	if json.Unmarshal([]byte(content), &obj) == nil {
		for _, k := range []string{"answer", "summary", "text", "error"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return strings.TrimSpace(content)
}
