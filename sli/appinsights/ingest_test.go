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
	"sync"
	"testing"
)

// testIKey is the instrumentation key used against the loopback endpoint.
const testIKey = "11111111-2222-4333-8444-555555555555"

// envelope mirrors what the Application Insights library posts for an
// aggregated metric. It is decoded with DisallowUnknownFields, so a change in
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
// decodes what the library really sends: gzip'd newline-delimited JSON
// envelopes posted to /v2/track.
type ingestServer struct {
	t       testing.TB
	srv     *httptest.Server
	status  func(n int) int // status for the n-th request (1-based); nil means 200
	hold    chan struct{}   // when non-nil, requests wait until it is closed
	entered chan struct{}   // receives when a request reaches the handler

	mu       sync.Mutex
	requests int
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
	status := http.StatusOK
	if s.status != nil {
		status = s.status(n)
	}
	if status == http.StatusOK {
		s.batches = append(s.batches, batch)
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		fmt.Fprintf(w, `{"itemsReceived":%d,"itemsAccepted":%d,"errors":[]}`, len(batch), len(batch))
	}
	s.arrived <- n
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
