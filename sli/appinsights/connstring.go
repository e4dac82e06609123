package appinsights

import (
	"net/url"
	"strconv"
	"strings"
)

const (
	// EnvConnectionString is the environment variable NewFromEnv reads.
	EnvConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING"

	// DefaultIngestionEndpoint is the ingestion endpoint used when the
	// connection string names neither IngestionEndpoint nor EndpointSuffix.
	DefaultIngestionEndpoint = "https://dc.services.visualstudio.com"

	// TrackPath is the path, relative to the ingestion endpoint, that
	// telemetry is posted to.
	TrackPath = "/v2/track"

	// maxConnectionStringLen bounds the input accepted by
	// ParseConnectionString; real connection strings are a few hundred bytes.
	maxConnectionStringLen = 4096
)

// Canonical spellings of the keys this package understands. Keys are matched
// case-insensitively.
const (
	keyInstrumentationKey = "InstrumentationKey"
	keyIngestionEndpoint  = "IngestionEndpoint"
	keyLiveEndpoint       = "LiveEndpoint"
	keyEndpointSuffix     = "EndpointSuffix"
	keyLocation           = "Location"
	keyAuthorization      = "Authorization"
)

// canonicalKey maps a lower-cased key to its canonical spelling.
func canonicalKey(lower string) (string, bool) {
	switch lower {
	case "instrumentationkey":
		return keyInstrumentationKey, true
	case "ingestionendpoint":
		return keyIngestionEndpoint, true
	case "liveendpoint":
		return keyLiveEndpoint, true
	case "endpointsuffix":
		return keyEndpointSuffix, true
	case "location":
		return keyLocation, true
	case "authorization":
		return keyAuthorization, true
	}
	return "", false
}

// ConnectionString is a parsed Application Insights connection string.
//
// Its String method redacts the instrumentation key, so a ConnectionString
// can be printed or logged without leaking the secret.
type ConnectionString struct {
	// InstrumentationKey is the resource's key, a GUID (the secret part).
	InstrumentationKey string
	// IngestionEndpoint is the base URL of the ingestion service, without a
	// trailing slash, e.g. "https://westeurope-5.in.applicationinsights.azure.com".
	IngestionEndpoint string
	// LiveEndpoint is the Live Metrics endpoint when the connection string
	// names one (directly or through EndpointSuffix); empty otherwise. This
	// package does not send Live Metrics; the value is parsed and validated
	// only so that a malformed connection string is reported.
	LiveEndpoint string
}

// TrackEndpoint is the URL telemetry is posted to: IngestionEndpoint followed
// by TrackPath. An IngestionEndpoint that already ends with TrackPath is used
// as is.
func (c ConnectionString) TrackEndpoint() string {
	if strings.HasSuffix(c.IngestionEndpoint, TrackPath) {
		return c.IngestionEndpoint
	}
	return c.IngestionEndpoint + TrackPath
}

// String returns the connection string with the instrumentation key
// redacted to its first eight characters.
func (c ConnectionString) String() string {
	var b strings.Builder
	b.WriteString(keyInstrumentationKey)
	b.WriteByte('=')
	b.WriteString(redactKey(c.InstrumentationKey))
	b.WriteString(";" + keyIngestionEndpoint + "=")
	b.WriteString(c.IngestionEndpoint)
	if c.LiveEndpoint != "" {
		b.WriteString(";" + keyLiveEndpoint + "=")
		b.WriteString(c.LiveEndpoint)
	}
	return b.String()
}

// GoString is String, so that %#v redacts the key too.
func (c ConnectionString) GoString() string { return c.String() }

// redactKey keeps the first group of a GUID and masks the rest.
func redactKey(k string) string {
	if len(k) < 8 {
		return "****"
	}
	return k[:8] + "-****-****-****-************"
}

// ParseConnectionString parses an Application Insights connection string of
// the form
//
//	InstrumentationKey=<guid>;IngestionEndpoint=https://...;LiveEndpoint=https://...
//
// Segments are separated by ';' and split at their first '='. Keys are
// case-insensitive; whitespace around keys, values and segments is ignored;
// empty segments (a trailing ';') are skipped. Unknown keys (such as
// ApplicationId) are ignored; a key given twice is an error.
//
// InstrumentationKey is required and must be a GUID. IngestionEndpoint and
// LiveEndpoint, when present, must be absolute http or https URLs without
// user information, query or fragment. Without IngestionEndpoint the endpoint
// is derived from EndpointSuffix (and the optional Location) as
// https://[Location.]dc.EndpointSuffix, and otherwise defaults to
// DefaultIngestionEndpoint. Authorization, when present, must be "ikey".
//
// Errors match ErrConnectionString, are of type *ConnectionStringError and
// never contain the instrumentation key nor any value of the input.
func ParseConnectionString(s string) (ConnectionString, error) {
	if len(s) > maxConnectionStringLen {
		return ConnectionString{}, &ConnectionStringError{Reason: "longer than " + strconv.Itoa(maxConnectionStringLen) + " bytes"}
	}
	if strings.TrimSpace(s) == "" {
		return ConnectionString{}, &ConnectionStringError{Reason: "empty"}
	}
	values := make(map[string]string, 4)
	seenUnknown := make(map[string]bool)
	for i, seg := range strings.Split(s, ";") {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		n := i + 1
		eq := strings.IndexByte(seg, '=')
		if eq < 0 {
			return ConnectionString{}, &ConnectionStringError{Segment: n, Reason: "segment has no '='"}
		}
		key := strings.TrimSpace(seg[:eq])
		value := strings.TrimSpace(seg[eq+1:])
		if key == "" {
			return ConnectionString{}, &ConnectionStringError{Segment: n, Reason: "segment has an empty key"}
		}
		lower := strings.ToLower(key)
		canonical, known := canonicalKey(lower)
		if !known {
			if seenUnknown[lower] {
				return ConnectionString{}, &ConnectionStringError{Segment: n, Reason: "duplicate key"}
			}
			seenUnknown[lower] = true
			continue
		}
		if _, dup := values[canonical]; dup {
			return ConnectionString{}, &ConnectionStringError{Key: canonical, Segment: n, Reason: "duplicate key"}
		}
		if value == "" {
			return ConnectionString{}, &ConnectionStringError{Key: canonical, Segment: n, Reason: "empty value"}
		}
		values[canonical] = value
	}

	var cs ConnectionString
	ikey, ok := values[keyInstrumentationKey]
	if !ok {
		return ConnectionString{}, &ConnectionStringError{Key: keyInstrumentationKey, Reason: "missing"}
	}
	if !isGUID(ikey) {
		return ConnectionString{}, &ConnectionStringError{Key: keyInstrumentationKey, Reason: "not a GUID (want 8-4-4-4-12 hexadecimal digits)"}
	}
	cs.InstrumentationKey = ikey

	if auth, ok := values[keyAuthorization]; ok && !strings.EqualFold(auth, "ikey") {
		return ConnectionString{}, &ConnectionStringError{Key: keyAuthorization, Reason: "only ikey authorization is supported"}
	}

	var suffixIngestion, suffixLive string
	if suffix, ok := values[keyEndpointSuffix]; ok {
		if !isHostLabelSeq(suffix) {
			return ConnectionString{}, &ConnectionStringError{Key: keyEndpointSuffix, Reason: "not a DNS suffix"}
		}
		prefix := ""
		if loc, ok := values[keyLocation]; ok {
			if !isHostLabelSeq(loc) {
				return ConnectionString{}, &ConnectionStringError{Key: keyLocation, Reason: "not a DNS label"}
			}
			prefix = loc + "."
		}
		suffixIngestion = "https://" + prefix + "dc." + suffix
		suffixLive = "https://" + prefix + "live." + suffix
	}

	switch raw, ok := values[keyIngestionEndpoint]; {
	case ok:
		u, err := parseEndpoint(keyIngestionEndpoint, raw)
		if err != nil {
			return ConnectionString{}, err
		}
		cs.IngestionEndpoint = u
	case suffixIngestion != "":
		u, err := parseEndpoint(keyEndpointSuffix, suffixIngestion)
		if err != nil {
			return ConnectionString{}, err
		}
		cs.IngestionEndpoint = u
	default:
		cs.IngestionEndpoint = DefaultIngestionEndpoint
	}

	switch raw, ok := values[keyLiveEndpoint]; {
	case ok:
		u, err := parseEndpoint(keyLiveEndpoint, raw)
		if err != nil {
			return ConnectionString{}, err
		}
		cs.LiveEndpoint = u
	case suffixLive != "":
		u, err := parseEndpoint(keyEndpointSuffix, suffixLive)
		if err != nil {
			return ConnectionString{}, err
		}
		cs.LiveEndpoint = u
	}
	return cs, nil
}

// parseEndpoint validates an endpoint URL and returns it without a trailing
// slash. Error messages never include the URL, which could carry secrets.
func parseEndpoint(key, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", &ConnectionStringError{Key: key, Reason: "not a valid URL"}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", &ConnectionStringError{Key: key, Reason: "scheme must be http or https"}
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", &ConnectionStringError{Key: key, Reason: "not an absolute URL with a host"}
	case u.User != nil:
		return "", &ConnectionStringError{Key: key, Reason: "must not contain user information"}
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", &ConnectionStringError{Key: key, Reason: "must not contain a query or fragment"}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", &ConnectionStringError{Key: key, Reason: "invalid port"}
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// isGUID reports whether s has the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
// with hexadecimal digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isHostLabelSeq reports whether s is a dot-separated sequence of DNS labels
// (letters, digits and '-', each label 1 to 63 bytes, not starting or ending
// with '-').
func isHostLabelSeq(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
		}
	}
	return true
}
