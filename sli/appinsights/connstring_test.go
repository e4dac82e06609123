package appinsights_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/sli/appinsights"
)

const realKey = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b"

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		ingest string // IngestionEndpoint
		track  string // TrackEndpoint()
		live   string
	}{
		{
			name:   "portal form",
			in:     "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=0a1b2c3d-0000-4000-8000-000000000000",
			ingest: "https://westeurope-5.in.applicationinsights.azure.com",
			track:  "https://westeurope-5.in.applicationinsights.azure.com/v2/track",
			live:   "https://westeurope.livediagnostics.monitor.azure.com",
		},
		{
			name:   "key only uses the default endpoint",
			in:     "InstrumentationKey=" + realKey,
			ingest: appinsights.DefaultIngestionEndpoint,
			track:  "https://dc.services.visualstudio.com/v2/track",
		},
		{
			name:   "case-insensitive keys, whitespace, trailing and empty segments",
			in:     "  instrumentationkey = " + realKey + " ;; INGESTIONENDPOINT= https://example.com ;  ",
			ingest: "https://example.com",
			track:  "https://example.com/v2/track",
		},
		{
			name:   "upper-case GUID and http loopback with port",
			in:     "InstrumentationKey=" + strings.ToUpper(realKey) + ";IngestionEndpoint=http://127.0.0.1:8080",
			ingest: "http://127.0.0.1:8080",
			track:  "http://127.0.0.1:8080/v2/track",
		},
		{
			name:   "path prefix kept",
			in:     "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://proxy.example.com/ai/",
			ingest: "https://proxy.example.com/ai",
			track:  "https://proxy.example.com/ai/v2/track",
		},
		{
			name:   "endpoint already ending with the track path",
			in:     "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://example.com/v2/track",
			ingest: "https://example.com/v2/track",
			track:  "https://example.com/v2/track",
		},
		{
			name:   "endpoint suffix and location",
			in:     "InstrumentationKey=" + realKey + ";EndpointSuffix=applicationinsights.azure.cn;Location=chinaeast2",
			ingest: "https://chinaeast2.dc.applicationinsights.azure.cn",
			track:  "https://chinaeast2.dc.applicationinsights.azure.cn/v2/track",
			live:   "https://chinaeast2.live.applicationinsights.azure.cn",
		},
		{
			name:   "explicit endpoint wins over suffix",
			in:     "InstrumentationKey=" + realKey + ";EndpointSuffix=applicationinsights.azure.cn;IngestionEndpoint=https://example.com",
			ingest: "https://example.com",
			track:  "https://example.com/v2/track",
			live:   "https://live.applicationinsights.azure.cn",
		},
		{
			name:   "authorization ikey",
			in:     "Authorization=ikey;InstrumentationKey=" + realKey,
			ingest: appinsights.DefaultIngestionEndpoint,
			track:  "https://dc.services.visualstudio.com/v2/track",
		},
		{
			name:   "value containing '='",
			in:     "InstrumentationKey=" + realKey + ";Unknown=a=b",
			ingest: appinsights.DefaultIngestionEndpoint,
			track:  "https://dc.services.visualstudio.com/v2/track",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := appinsights.ParseConnectionString(tt.in)
			if err != nil {
				t.Fatalf("ParseConnectionString: %v", err)
			}
			if !strings.EqualFold(cs.InstrumentationKey, realKey) {
				t.Errorf("InstrumentationKey = %q", cs.InstrumentationKey)
			}
			if cs.IngestionEndpoint != tt.ingest {
				t.Errorf("IngestionEndpoint = %q, want %q", cs.IngestionEndpoint, tt.ingest)
			}
			if got := cs.TrackEndpoint(); got != tt.track {
				t.Errorf("TrackEndpoint = %q, want %q", got, tt.track)
			}
			if cs.LiveEndpoint != tt.live {
				t.Errorf("LiveEndpoint = %q, want %q", cs.LiveEndpoint, tt.live)
			}
		})
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	const secret = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6bX" // a key one character too long
	tests := []struct {
		name    string
		in      string
		key     string // ConnectionStringError.Key
		segment int
		reason  string // substring of the reason
	}{
		{"empty", "", "", 0, "empty"},
		{"blank", " ; ; ", "InstrumentationKey", 0, "missing"},
		{"too long", "InstrumentationKey=" + realKey + ";" + strings.Repeat("x", 5000), "", 0, "longer than"},
		{"missing key", "IngestionEndpoint=https://example.com", "InstrumentationKey", 0, "missing"},
		{"empty key value", "InstrumentationKey=;IngestionEndpoint=https://example.com", "InstrumentationKey", 1, "empty value"},
		{"blank key value", "InstrumentationKey=   ", "InstrumentationKey", 1, "empty value"},
		{"malformed GUID", "InstrumentationKey=" + secret, "InstrumentationKey", 0, "not a GUID"},
		{"GUID without dashes", "InstrumentationKey=3f2a9c1e7b4d4e8f9a0b1c2d3e4f5a6b", "InstrumentationKey", 0, "not a GUID"},
		{"GUID with a non-hex digit", "InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6g", "InstrumentationKey", 0, "not a GUID"},
		{"segment without '='", "InstrumentationKey=" + realKey + ";" + realKey, "", 2, "no '='"},
		{"empty key name", "=" + realKey, "", 1, "empty key"},
		{"duplicate key", "InstrumentationKey=" + realKey + ";instrumentationKEY=" + realKey, "InstrumentationKey", 2, "duplicate"},
		{"duplicate unknown key", "InstrumentationKey=" + realKey + ";Foo=1;foo=2", "", 3, "duplicate"},
		{"endpoint not a URL", "InstrumentationKey=" + realKey + ";IngestionEndpoint=://bad", "IngestionEndpoint", 0, "not a valid URL"},
		{"endpoint relative", "InstrumentationKey=" + realKey + ";IngestionEndpoint=example.com/track", "IngestionEndpoint", 0, "scheme"},
		{"endpoint ftp", "InstrumentationKey=" + realKey + ";IngestionEndpoint=ftp://example.com", "IngestionEndpoint", 0, "scheme"},
		{"endpoint without host", "InstrumentationKey=" + realKey + ";IngestionEndpoint=https:///v2/track", "IngestionEndpoint", 0, "host"},
		{"endpoint with user info", "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://user:pass@example.com", "IngestionEndpoint", 0, "user information"},
		{"endpoint with query", "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://example.com/?k=v", "IngestionEndpoint", 0, "query"},
		{"endpoint with fragment", "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://example.com/#x", "IngestionEndpoint", 0, "query or fragment"},
		{"endpoint bad port", "InstrumentationKey=" + realKey + ";IngestionEndpoint=https://example.com:99999", "IngestionEndpoint", 0, "port"},
		{"empty endpoint", "InstrumentationKey=" + realKey + ";IngestionEndpoint=", "IngestionEndpoint", 2, "empty value"},
		{"bad live endpoint", "InstrumentationKey=" + realKey + ";LiveEndpoint=not a url", "LiveEndpoint", 0, "scheme"},
		{"bad suffix", "InstrumentationKey=" + realKey + ";EndpointSuffix=a/b", "EndpointSuffix", 0, "DNS suffix"},
		{"bad location", "InstrumentationKey=" + realKey + ";EndpointSuffix=applicationinsights.azure.cn;Location=-x", "Location", 0, "DNS label"},
		{"aad authorization", "InstrumentationKey=" + realKey + ";Authorization=aad", "Authorization", 0, "only ikey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := appinsights.ParseConnectionString(tt.in)
			if err == nil {
				t.Fatalf("ParseConnectionString = %v, want an error", cs)
			}
			if !errors.Is(err, appinsights.ErrConnectionString) {
				t.Errorf("error %v does not match ErrConnectionString", err)
			}
			var cerr *appinsights.ConnectionStringError
			if !errors.As(err, &cerr) {
				t.Fatalf("error %T is not a *ConnectionStringError", err)
			}
			if cerr.Key != tt.key || cerr.Segment != tt.segment || !strings.Contains(cerr.Reason, tt.reason) {
				t.Errorf("error = %+v, want key %q segment %d reason containing %q", cerr, tt.key, tt.segment, tt.reason)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "appinsights: invalid connection string: ") {
				t.Errorf("message %q lacks the package prefix", msg)
			}
			for _, leak := range []string{realKey, strings.ToUpper(realKey)[:8], secret, "pass", "example.com", "bad", "applicationinsights.azure.cn"} {
				if strings.Contains(msg, leak) {
					t.Errorf("message %q echoes input %q", msg, leak)
				}
			}
		})
	}
}

func TestConnectionStringRedacts(t *testing.T) {
	cs, err := appinsights.ParseConnectionString("InstrumentationKey=" + realKey + ";IngestionEndpoint=https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := "InstrumentationKey=3f2a9c1e-****-****-****-************;IngestionEndpoint=https://example.com"
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(format, cs); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", format, got, want)
		}
	}
	if got := (appinsights.ConnectionString{}).String(); !strings.HasPrefix(got, "InstrumentationKey=****;") {
		t.Errorf("zero value String = %q", got)
	}
}
