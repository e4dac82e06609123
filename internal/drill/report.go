package drill

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a drill. Success means a 2xx answer.
//
// Sent = Completed + Canceled once the drill is over, and
// Completed = sum(Status) + TransportErrors.
type Report struct {
	Method      string        // method of the load requests
	URL         string        // load URL
	Rate        float64       // requests per second asked for
	Duration    time.Duration // planned span: Planned ÷ Rate
	Concurrency int           // bound on requests in flight
	Fault       *FaultStatus  // nil for a baseline drill

	Planned   int // sends scheduled
	Sent      int // requests sent
	Dropped   int // scheduled sends skipped because Concurrency requests were in flight
	Late      int // sends that left more than one interval after their scheduled time
	Canceled  int // requests aborted by the caller's context (not in Completed)
	Completed int // requests that got an answer or a transport error

	Status          map[int]int    // answers per HTTP status code
	TransportErrors int            // requests without an answer
	Errors          map[string]int // transport errors per kind (ErrKind* constants)
	Successes       int            // 2xx answers
	SuccessRatio    float64        // Successes ÷ Completed; 0 when nothing completed

	Latency   Latency        // over answered requests, any status
	Instances map[string]int // answers per X-Instance-ID (NoneKey when absent)
	Models    map[string]int // answers per X-Agent-Model, when the header is set
	Healing   Healing        // healing signals read from the answers' headers

	Elapsed time.Duration // from the first send to the last answer
}

// FaultStatus is the fault the drill set and what became of it.
type FaultStatus struct {
	Fault                  // as sent, with the TTL resolved
	ID           string    // id the admin API gave the fault
	ExpiresAt    time.Time // expiry the admin API announced; zero when not told
	Cleared      bool      // DELETE /admin/chaos succeeded
	ClearedCount int       // faults the server said it cleared
	ClearError   string    // why clearing failed, when it did
}

// Healing counts the self-healing signals the service reported in headers.
type Healing struct {
	Fallbacks  int64 // sum of X-Agent-Fallbacks: tool calls served by a fallback step
	Repairs    int64 // sum of X-Agent-Repairs: tool-call repairs
	Downshifts int   // answers with X-Budget-Decision: downshift
	Blocks     int   // budget blocks: X-Budget-Decision: block, or a 429 with error code budget_exceeded
	Healed     int   // 2xx answers that needed at least one fallback or repair
	BadHeaders int   // answers whose X-Agent-Fallbacks/X-Agent-Repairs was not a non-negative integer (ignored)
}

// Latency summarises the answered requests' latencies, measured from the
// send to the end of the body. Percentiles are nearest-rank over the kept
// samples: all of them when Exact, else a uniform sample of MaxSamples.
type Latency struct {
	Count              int  // answers measured
	Exact              bool // every sample was kept
	P50, P95, P99, Max time.Duration
}

// Snapshot is the live state of a running drill, given to Config.Progress.
type Snapshot struct {
	Elapsed         time.Duration
	Planned         int
	Sent            int
	Dropped         int
	InFlight        int
	Completed       int
	Successes       int
	TransportErrors int
	Status          map[int]int // a copy, owned by the receiver
}

// SuccessRatio returns Successes ÷ Completed, or 0 when nothing completed.
func (s Snapshot) SuccessRatio() float64 { return ratio(s.Successes, s.Completed) }

// String renders the snapshot as one progress line, e.g.
// "elapsed 2.0s  sent 40/600  dropped 0  in flight 1  200=36 503=3 err=0  ok 92.31%".
func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elapsed %s  sent %d/%d  dropped %d  in flight %d  ", s.Elapsed.Round(100*time.Millisecond), s.Sent, s.Planned, s.Dropped, s.InFlight)
	for _, code := range slices.Sorted(maps.Keys(s.Status)) {
		fmt.Fprintf(&b, "%d=%d ", code, s.Status[code])
	}
	fmt.Fprintf(&b, "err=%d  ok %s", s.TransportErrors, percent(s.SuccessRatio()))
	return b.String()
}

// MeetsSLO reports whether the success ratio is at least slo.
func (r Report) MeetsSLO(slo float64) bool { return r.SuccessRatio >= slo }

// WriteText writes the report for people, one aspect per line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "drill      %s %s  rate %g/s  duration %s  concurrency %d\n", r.Method, r.URL, r.Rate, fmtDur(r.Duration), r.Concurrency)
	if f := r.Fault; f != nil {
		fmt.Fprintf(&b, "fault      %s %s p=%g ttl=%s", f.Mode, f.Target, f.Probability, f.TTL)
		if f.Tenant != "" {
			fmt.Fprintf(&b, " tenant=%s", f.Tenant)
		}
		if f.Latency > 0 {
			fmt.Fprintf(&b, " latency=%s", f.Latency)
		}
		if f.RetryAfter > 0 {
			fmt.Fprintf(&b, " retry-after=%s", f.RetryAfter)
		}
		if f.ID != "" {
			fmt.Fprintf(&b, " id=%s", f.ID)
		}
		switch {
		case f.Cleared:
			fmt.Fprintf(&b, "  cleared (%d)\n", f.ClearedCount)
		case f.ClearError != "":
			fmt.Fprintf(&b, "  NOT CLEARED: %s\n", f.ClearError)
		default:
			b.WriteString("  not cleared\n")
		}
	} else {
		b.WriteString("fault      none (baseline)\n")
	}
	fmt.Fprintf(&b, "sends      planned %d  sent %d  dropped %d  late %d  canceled %d  elapsed %s\n",
		r.Planned, r.Sent, r.Dropped, r.Late, r.Canceled, fmtDur(r.Elapsed))
	b.WriteString("status    ")
	for _, code := range slices.Sorted(maps.Keys(r.Status)) {
		fmt.Fprintf(&b, " %d=%d", code, r.Status[code])
	}
	fmt.Fprintf(&b, "  transport errors=%d", r.TransportErrors)
	if len(r.Errors) > 0 {
		b.WriteString(" (")
		for i, k := range slices.Sorted(maps.Keys(r.Errors)) {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", k, r.Errors[k])
		}
		b.WriteString(")")
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "success    %s (%d of %d completed; success = 2xx)\n", percent(r.SuccessRatio), r.Successes, r.Completed)
	exact := "exact"
	if !r.Latency.Exact {
		exact = "sampled"
	}
	fmt.Fprintf(&b, "latency    p50=%s  p95=%s  p99=%s  max=%s  (%d answers, %s)\n",
		fmtDur(r.Latency.P50), fmtDur(r.Latency.P95), fmtDur(r.Latency.P99), fmtDur(r.Latency.Max), r.Latency.Count, exact)
	fmt.Fprintf(&b, "instances  %s\n", countsLine(r.Instances))
	if len(r.Models) > 0 {
		fmt.Fprintf(&b, "models     %s\n", countsLine(r.Models))
	}
	h := r.Healing
	fmt.Fprintf(&b, "healing    fallbacks=%d  repairs=%d  downshifts=%d  blocks=%d  healed=%d",
		h.Fallbacks, h.Repairs, h.Downshifts, h.Blocks, h.Healed)
	if h.BadHeaders > 0 {
		fmt.Fprintf(&b, "  bad headers=%d", h.BadHeaders)
	}
	b.WriteByte('\n')
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "warning    %d sends dropped at the concurrency bound (%d in flight): the success ratio covers only the sent requests; raise the concurrency\n", r.Dropped, r.Concurrency)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// countsLine renders counts by descending count, then name.
func countsLine(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, "  ")
}

func percent(r float64) string { return fmt.Sprintf("%.2f%%", 100*r) }

// fmtDur rounds a duration for display: microseconds below a second,
// milliseconds above.
func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON encodes the report for machines: snake_case keys, durations of
// the drill in milliseconds (fields ending in _ms), the fault's durations as
// Go duration strings like the admin API's, status codes as object keys.
func (r Report) MarshalJSON() ([]byte, error) {
	type faultJSON struct {
		Mode         string  `json:"mode"`
		Target       string  `json:"target"`
		Probability  float64 `json:"probability"`
		TTL          string  `json:"ttl"`
		Tenant       string  `json:"tenant,omitempty"`
		Latency      string  `json:"latency,omitempty"`
		RetryAfter   string  `json:"retry_after,omitempty"`
		ID           string  `json:"id,omitempty"`
		ExpiresAt    string  `json:"expires_at,omitempty"`
		Cleared      bool    `json:"cleared"`
		ClearedCount int     `json:"cleared_count"`
		ClearError   string  `json:"clear_error,omitempty"`
	}
	type latencyJSON struct {
		Count int     `json:"count"`
		Exact bool    `json:"exact"`
		P50   float64 `json:"p50_ms"`
		P95   float64 `json:"p95_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
	}
	type healingJSON struct {
		Fallbacks  int64 `json:"fallbacks"`
		Repairs    int64 `json:"repairs"`
		Downshifts int   `json:"downshifts"`
		Blocks     int   `json:"blocks"`
		Healed     int   `json:"healed"`
		BadHeaders int   `json:"bad_headers"`
	}
	out := struct {
		Method          string         `json:"method"`
		URL             string         `json:"url"`
		Rate            float64        `json:"rate"`
		DurationMS      float64        `json:"duration_ms"`
		Concurrency     int            `json:"concurrency"`
		Fault           *faultJSON     `json:"fault"`
		Planned         int            `json:"planned"`
		Sent            int            `json:"sent"`
		Dropped         int            `json:"dropped"`
		Late            int            `json:"late"`
		Canceled        int            `json:"canceled"`
		Completed       int            `json:"completed"`
		Status          map[int]int    `json:"status"`
		TransportErrors int            `json:"transport_errors"`
		Errors          map[string]int `json:"errors"`
		Successes       int            `json:"successes"`
		SuccessRatio    float64        `json:"success_ratio"`
		Latency         latencyJSON    `json:"latency"`
		Instances       map[string]int `json:"instances"`
		Models          map[string]int `json:"models"`
		Healing         healingJSON    `json:"healing"`
		ElapsedMS       float64        `json:"elapsed_ms"`
	}{
		Method: r.Method, URL: r.URL, Rate: r.Rate, DurationMS: ms(r.Duration), Concurrency: r.Concurrency,
		Planned: r.Planned, Sent: r.Sent, Dropped: r.Dropped, Late: r.Late, Canceled: r.Canceled, Completed: r.Completed,
		Status: nonNil(r.Status), TransportErrors: r.TransportErrors, Errors: nonNil(r.Errors),
		Successes: r.Successes, SuccessRatio: r.SuccessRatio,
		Latency: latencyJSON{
			Count: r.Latency.Count, Exact: r.Latency.Exact,
			P50: ms(r.Latency.P50), P95: ms(r.Latency.P95), P99: ms(r.Latency.P99), Max: ms(r.Latency.Max),
		},
		Instances: nonNil(r.Instances), Models: nonNil(r.Models),
		Healing:   healingJSON(r.Healing),
		ElapsedMS: ms(r.Elapsed),
	}
	if f := r.Fault; f != nil {
		fj := &faultJSON{
			Mode: f.Mode.String(), Target: f.Target, Probability: f.Probability, TTL: f.TTL.String(), Tenant: f.Tenant,
			ID: f.ID, Cleared: f.Cleared, ClearedCount: f.ClearedCount, ClearError: f.ClearError,
		}
		if f.Latency > 0 {
			fj.Latency = f.Latency.String()
		}
		if f.RetryAfter > 0 {
			fj.RetryAfter = f.RetryAfter.String()
		}
		if !f.ExpiresAt.IsZero() {
			fj.ExpiresAt = f.ExpiresAt.UTC().Format(time.RFC3339)
		}
		out.Fault = fj
	}
	return json.Marshal(out)
}

func nonNil[K comparable](m map[K]int) map[K]int {
	if m == nil {
		return map[K]int{}
	}
	return m
}
