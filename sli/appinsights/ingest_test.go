package appinsights_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testIKey is the instrumentation key used against the loopback endpoint.
const testIKey = "11111111-2222-4333-8444-555555555555"

// envelope mirrors what the Application Insights library posts for an
// aggregated metric (and so what the exporter must post). It is decoded with DisallowUnknownFields, so a change in
// the wire format fails the tests instead of passing silently.
type envelope struct {
	Ver        int               `json:"ver"`
	Name       string            `json:"name"`
	Time       string            `json:"time"`
	SampleRate float64           `json:"sampleRate"`
	Seq        string            `json:"seq"`
	IKey       string            `json:"iKey"`
	Tags       map[string]string `json:"tags"`
	Data       struct {
		BaseType string `json:"baseType"`
		BaseData struct {
			Ver     int `json:"ver"`
			Metrics []struct {
				Name   string  `json:"name"`
				Kind   int     `json:"kind"`
				Value  float64 `json:"value"`
				Count  int     `json:"count"`
				Min    float64 `json:"min"`
				Max    float64 `json:"max"`
				StdDev float64 `json:"stdDev"`
			} `json:"metrics"`
			Properties map[string]string `json:"properties"`
		} `json:"baseData"`
	} `json:"data"`
}

// item is the part of an envelope the tests compare.
type item struct {
	Name                string
	Sum, Min, Max       float64
	Count               int
	Dims                map[string]string
	CloudRole, Instance string
}

func (e envelope) item() item {
	m := e.Data.BaseData.Metrics[0]
	return item{
		Name: m.Name, Sum: m.Value, Count: m.Count, Min: m.Min, Max: m.Max,
		Dims:      e.Data.BaseData.Properties,
		CloudRole: e.Tags["ai.cloud.role"], Instance: e.Tags["ai.cloud.roleInstance"],
	}
}

// ingestServer is a loopback Application Insights ingestion endpoint that
// decodes what is really sent: gzip'd newline-delimited JSON
// envelopes posted to /v2/track.
type ingestServer struct {
	t       testing.TB
	srv     *httptest.Server
	status  func(n int) int                     // status for the n-th request (1-based); nil means 200
	respond func(n int, batch []envelope) reply // when non-nil, overrides status
	hold    chan struct{}                       // when non-nil, requests wait until it is closed
	entered chan struct{}                       // receives when a request reaches the handler

	mu       sync.Mutex
	requests int
	sizes    []int        // items per request, in arrival order
	batches  [][]envelope // decoded batches, in arrival order
	errs     []error      // protocol violations seen by the handler
	arrived  chan int     // receives the request number after each request
}

func newIngestServer(t testing.TB, status func(n int) int) *ingestServer {
	s := &ingestServer{t: t, status: status, arrived: make(chan int, 1024), entered: make(chan struct{}, 1024)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

// connString is a connection string pointing at the server.
func (s *ingestServer) connString() string {
	return "InstrumentationKey=" + testIKey + ";IngestionEndpoint=" + s.srv.URL + "/;LiveEndpoint=" + s.srv.URL
}

func (s *ingestServer) handle(w http.ResponseWriter, r *http.Request) {
	s.entered <- struct{}{}
	if s.hold != nil {
		<-s.hold
	}
	batch, err := decodeBatch(r)
	s.mu.Lock()
	s.requests++
	n := s.requests
	if err != nil {
		s.errs = append(s.errs, err)
	}
	s.sizes = append(s.sizes, len(batch))
	rep := reply{Status: http.StatusOK}
	switch {
	case s.respond != nil:
		rep = s.respond(n, batch)
	case s.status != nil:
		rep.Status = s.status(n)
	}
	var accepted []envelope
	switch rep.Status {
	case http.StatusOK:
		accepted = batch
	case http.StatusPartialContent:
		for i, e := range batch {
			if _, rejected := rep.Rejected[i]; !rejected {
				accepted = append(accepted, e)
			}
		}
	}
	if len(accepted) > 0 {
		s.batches = append(s.batches, accepted)
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if rep.RetryAfter != "" {
		w.Header().Set("Retry-After", rep.RetryAfter)
	}
	w.WriteHeader(rep.Status)
	if rep.Status == http.StatusOK || rep.Status == http.StatusPartialContent {
		var errs []string
		for i := range batch {
			if code, ok := rep.Rejected[i]; ok {
				errs = append(errs, fmt.Sprintf(`{"index":%d,"statusCode":%d,"message":"rejected"}`, i, code))
			}
		}
		fmt.Fprintf(w, `{"itemsReceived":%d,"itemsAccepted":%d,"errors":[%s]}`, len(batch), len(accepted), strings.Join(errs, ","))
	}
	s.arrived <- n
}

// reply is the ingestion endpoint's answer to one request.
type reply struct {
	Status     int
	Rejected   map[int]int // for a 206: item index -> item status
	RetryAfter string      // Retry-After header, when not empty
}

func decodeBatch(r *http.Request) ([]envelope, error) {
	switch {
	case r.Method != http.MethodPost:
		return nil, fmt.Errorf("method %s", r.Method)
	case r.URL.Path != "/v2/track":
		return nil, fmt.Errorf("path %s", r.URL.Path)
	case r.Header.Get("Content-Encoding") != "gzip":
		return nil, fmt.Errorf("content encoding %q", r.Header.Get("Content-Encoding"))
	case r.Header.Get("Content-Type") != "application/x-json-stream":
		return nil, fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	var out []envelope
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var e envelope
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("envelope %d: %w", len(out), err)
		}
		if len(e.Data.BaseData.Metrics) != 1 {
			return nil, fmt.Errorf("envelope %d: %d metrics, want 1", len(out), len(e.Data.BaseData.Metrics))
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// envelopes returns every accepted envelope in arrival order and fails the
// test on protocol violations.
func (s *ingestServer) envelopes() []envelope {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		s.t.Errorf("ingestion endpoint: %v", err)
	}
	var all []envelope
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

func (s *ingestServer) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// requestSizes returns the number of items of every request received, in
// arrival order (rejected ones included).
func (s *ingestServer) requestSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

// holdRequests makes requests wait in the handler until the returned
// function is called (it is also called at test cleanup, before the server
// closes). Call it before the first request.
func (s *ingestServer) holdRequests() (release func()) {
	s.hold = make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(s.hold) }) }
	s.t.Cleanup(release)
	return release
}
