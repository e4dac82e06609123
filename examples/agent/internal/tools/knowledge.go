package tools

import (
	"sort"
	"strings"
	"sync"
	"unicode"
)

// searchResults is what the web_search chain answers, whichever step serves.
type searchResults struct {
	Query   string   `json:"query"`
	Source  string   `json:"source"`
	Results []result `json:"results"`
	Answer  string   `json:"answer"`
}

type result struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Snippet string `json:"snippet"`
}

type doc struct {
	result
	words []string
}

// corpus is what the simulated web search finds.
var corpus = []doc{
	{result{"Paris weather today", "https://weather.example/paris", "Paris: 14 °C, light clouds, wind 10 km/h from the west (simulated)."}, []string{"weather", "paris", "today", "forecast", "temperature"}},
	{result{"Paris — city guide", "https://guide.example/paris", "Paris is the capital of France, on the Seine, with about 2.1 million inhabitants."}, []string{"paris", "france", "capital", "city"}},
	{result{"Go 1.26 release notes", "https://go.example/doc/go1.26", "Go 1.26 ships language, toolchain and standard library improvements (simulated)."}, []string{"go", "golang", "release", "version", "latest"}},
	{result{"Redis documentation", "https://redis.example/docs", "Redis is an in-memory data store used as a database, cache and message broker."}, []string{"redis", "cache", "database", "lua"}},
	{result{"OpenTelemetry metrics", "https://otel.example/docs/metrics", "OpenTelemetry defines vendor-neutral APIs and SDKs for metrics, traces and logs."}, []string{"opentelemetry", "otel", "metrics", "observability", "telemetry"}},
	{result{"Site reliability: burn rates", "https://sre.example/burn-rate", "Multi-window, multi-burn-rate alerts page on fast error-budget burn and ticket on slow burn."}, []string{"slo", "burn", "alert", "error", "budget", "reliability"}},
	{result{"Circuit breaker pattern", "https://patterns.example/circuit-breaker", "A circuit breaker stops calling a failing dependency and probes it again after a while."}, []string{"circuit", "breaker", "fallback", "resilience"}},
	{result{"Prime numbers", "https://math.example/primes", "There are 25 primes below 100 and 168 below 1000; 2 is the only even prime."}, []string{"prime", "primes", "number", "math"}},
	{result{"LLM agent reliability", "https://agents.example/reliability", "Agents fail softly: tool errors, malformed arguments and budget overruns need their own SLIs."}, []string{"llm", "agent", "agents", "reliability", "sli", "llmops"}},
	{result{"Mount Everest", "https://geo.example/everest", "Mount Everest is 8,849 m high, the highest mountain above sea level."}, []string{"everest", "mountain", "highest", "tall"}},
	{result{"Speed of light", "https://physics.example/light", "Light travels at 299,792,458 m/s in vacuum."}, []string{"light", "speed", "physics", "fast"}},
	{result{"World news today", "https://news.example/today", "Today's headlines (simulated): markets steady, a new comet visible at dusk."}, []string{"news", "today", "headlines", "latest"}},
}

// facts is the facts table of lookup_fact and the core of the static
// knowledge base.
var facts = map[string]string{
	"paris":         "Paris is the capital of France.",
	"france":        "France's capital is Paris.",
	"redis":         "Redis is an in-memory key-value store; scripts run atomically.",
	"go":            "Go is a statically typed, compiled language designed at Google.",
	"opentelemetry": "OpenTelemetry is the CNCF standard for metrics, traces and logs.",
	"llmops":        "llmops makes an LLM agent service self-healing and accountable.",
	"everest":       "Mount Everest is 8,849 m high.",
	"light":         "The speed of light in vacuum is 299,792,458 m/s.",
	"pi":            "Pi is about 3.14159.",
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// rank returns the corpus documents matching q, best first, at most n.
func rank(docs []doc, q string, n int) []result {
	qw := map[string]bool{}
	for _, w := range words(q) {
		qw[w] = true
	}
	type scored struct {
		i, score int
	}
	var hits []scored
	for i, d := range docs {
		s := 0
		for _, w := range d.words {
			if qw[w] {
				s++
			}
		}
		if s > 0 {
			hits = append(hits, scored{i, s})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	out := []result{}
	for _, h := range hits {
		if len(out) == n {
			break
		}
		out = append(out, docs[h.i].result)
	}
	return out
}

// searchCorpus is the simulated web's answer: the matching documents, or a
// generic result naming the query.
func searchCorpus(q string, n int) []result {
	out := rank(corpus, q, n)
	if len(out) == 0 {
		out = append(out, result{"Results for " + q, "https://search.example/?q=" + strings.Join(words(q), "+"),
			"No page matches all of your words (simulated web)."})
	}
	return out
}

// knowledgeBase is the static knowledge base: the facts table as documents.
var knowledgeBase = func() []doc {
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]doc, 0, len(keys))
	for _, k := range keys {
		out = append(out, doc{result{Title: k, URL: "kb://" + k, Snippet: facts[k]}, append([]string{k}, words(facts[k])...)})
	}
	return out
}()

// searchKB answers from the static knowledge base; with no match it says so.
func searchKB(q string, n int) []result {
	out := rank(knowledgeBase, q, n)
	if len(out) == 0 {
		out = append(out, result{"No entry", "kb://none", "The static knowledge base has no entry for this query."})
	}
	return out
}

// shippedSnapshot answers from the snapshot shipped with the service: the
// corpus as it was when the snapshot was taken, for the queries it covers.
func shippedSnapshot(q string) (searchResults, bool) {
	res := rank(corpus, q, 10)
	if len(res) == 0 {
		return searchResults{}, false
	}
	return searchResults{Query: q, Results: res}, true
}

func fact(topic string) (string, bool) {
	f, ok := facts[strings.ToLower(strings.TrimSpace(topic))]
	return f, ok
}

func summary(q string, rs []result, from string) string {
	if len(rs) == 0 {
		return "Nothing found for " + q + " in " + from + "."
	}
	return rs[0].Snippet + " (from " + from + ")"
}

// snapshot remembers the results of the last live searches, by normalized
// query, evicting the oldest.
type snapshot struct {
	mu    sync.Mutex
	max   int
	items map[string]searchResults
	order []string
}

func newSnapshot(max int) *snapshot {
	return &snapshot{max: max, items: map[string]searchResults{}}
}

func normalize(q string) string { return strings.Join(words(q), " ") }

func (s *snapshot) put(q string, r searchResults) {
	k := normalize(q)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[k]; !ok {
		if len(s.order) == s.max {
			delete(s.items, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, k)
	}
	s.items[k] = r
}

func (s *snapshot) get(q string) (searchResults, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[normalize(q)]
	if ok {
		r.Results = append([]result(nil), r.Results...)
	}
	return r, ok
}
