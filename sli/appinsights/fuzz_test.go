package appinsights_test

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/llmops-go/llmops/sli/appinsights"
)

var (
	guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// secretRE matches values that look like keys: an error must never
	// repeat one.
	secretRE = regexp.MustCompile(`^[0-9a-fA-F-]{12,}$`)
)

func FuzzParseConnectionString(f *testing.F) {
	for _, seed := range []string{
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b",
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=x",
		" instrumentationkey = 3F2A9C1E-7B4D-4E8F-9A0B-1C2D3E4F5A6B ;; ingestionendpoint=http://127.0.0.1:8080/ai/ ; ",
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;EndpointSuffix=applicationinsights.azure.cn;Location=chinaeast2",
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b",
		"InstrumentationKey=3f2a9c1e7b4d4e8f9a0b1c2d3e4f5a6b",
		"InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b;IngestionEndpoint=https://u:p@h/?q#f",
		"Authorization=aad;InstrumentationKey=3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b",
		"=;;=",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := appinsights.ParseConnectionString(in)
		if err != nil {
			var cerr *appinsights.ConnectionStringError
			if !errors.Is(err, appinsights.ErrConnectionString) || !errors.As(err, &cerr) {
				t.Fatalf("error %v (%T) is not a ConnectionStringError", err, err)
			}
			msg := err.Error()
			for _, seg := range strings.Split(in, ";") {
				_, v, _ := strings.Cut(seg, "=")
				if v = strings.TrimSpace(v); secretRE.MatchString(v) && strings.Contains(msg, v) {
					t.Fatalf("error %q echoes the value %q", msg, v)
				}
			}
			return
		}
		if !guidRE.MatchString(cs.InstrumentationKey) {
			t.Fatalf("accepted key %q is not a GUID", cs.InstrumentationKey)
		}
		if strings.Contains(cs.String(), cs.InstrumentationKey) {
			t.Fatalf("String %q contains the key", cs.String())
		}
		track := cs.TrackEndpoint()
		u, err := url.Parse(track)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("TrackEndpoint %q is not a clean http(s) URL (err %v)", track, err)
		}
		if !strings.HasSuffix(u.Path, appinsights.TrackPath) {
			t.Fatalf("TrackEndpoint %q does not end with %s", track, appinsights.TrackPath)
		}
		// The normalised form parses to the same value.
		again := "InstrumentationKey=" + cs.InstrumentationKey + ";IngestionEndpoint=" + cs.IngestionEndpoint
		if cs.LiveEndpoint != "" {
			again += ";LiveEndpoint=" + cs.LiveEndpoint
		}
		cs2, err := appinsights.ParseConnectionString(again)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", again, err)
		}
		if cs2 != cs {
			t.Fatalf("re-parsing changed %#v into %#v", cs, cs2)
		}
	})
}
