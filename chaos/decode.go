package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/llmops-go/llmops/internal/strictjson"
)

// wireSpec is the JSON body of POST /admin/chaos.
type wireSpec struct {
	Mode        *string  `json:"mode"`
	Target      *string  `json:"target"`
	Probability *float64 `json:"probability"`
	TTL         *string  `json:"ttl"`
	Tenant      *string  `json:"tenant"`
	Latency     *string  `json:"latency"`
	RetryAfter  *string  `json:"retry_after"`
}

// wireField reports whether k is one of wireSpec's JSON names, exactly.
func wireField(k string) bool {
	switch k {
	case "mode", "target", "probability", "ttl", "tenant", "latency", "retry_after":
		return true
	}
	return false
}

// errBadBody is wrapped by every decoding error that is not about the
// fault's values.
var errBadBody = errors.New("chaos: bad request body")

// decodeSpec strictly decodes a POST body: one JSON object, exact
// (case-sensitive) known field names, no duplicate keys at any depth, no
// null values, nothing after the object, valid UTF-8. Absent probability
// means 1; absent (or "") ttl, latency and retry_after mean the Spec
// defaults. The returned Spec has passed Validate.
func decodeSpec(body []byte) (Spec, error) {
	var w wireSpec
	if err := strictjson.Decode(body, wireField, &w); err != nil {
		if errors.Is(err, strictjson.ErrNotStrict) {
			return Spec{}, fmt.Errorf("%w: %w", errBadBody, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Spec{}, fmt.Errorf("%w: field %q has the wrong type (want %s)", errBadBody, te.Field, te.Type)
		}
		return Spec{}, fmt.Errorf("%w: %v", errBadBody, err)
	}
	// An empty duration string means "not given", so that clients that
	// always send every field work.
	for _, v := range []**string{&w.TTL, &w.Latency, &w.RetryAfter} {
		if *v != nil && **v == "" {
			*v = nil
		}
	}
	var s Spec
	var err error
	if w.Mode == nil {
		return Spec{}, fmt.Errorf("%w: mode is required", ErrInvalidFault)
	}
	if s.Mode, err = ParseMode(*w.Mode); err != nil {
		return Spec{}, err
	}
	if w.Target == nil {
		return Spec{}, fmt.Errorf("%w: target is required", ErrInvalidFault)
	}
	if s.Target, err = ParseTarget(*w.Target); err != nil {
		return Spec{}, err
	}
	s.Probability = 1
	if w.Probability != nil {
		s.Probability = *w.Probability
	}
	if w.Tenant != nil {
		s.Tenant = *w.Tenant
	}
	if s.TTL, err = parseDuration("ttl", w.TTL); err != nil {
		return Spec{}, err
	}
	if w.TTL != nil && s.TTL <= 0 {
		return Spec{}, fmt.Errorf("%w: ttl must be positive", ErrInvalidFault)
	}
	if w.Latency != nil && s.Mode != Latency {
		return Spec{}, fmt.Errorf("%w: latency is only for mode latency", ErrInvalidFault)
	}
	if s.Latency, err = parseDuration("latency", w.Latency); err != nil {
		return Spec{}, err
	}
	if s.Mode == Latency && w.Latency == nil {
		return Spec{}, fmt.Errorf("%w: latency is required for mode latency", ErrInvalidFault)
	}
	if w.RetryAfter != nil && s.Mode != Throttle {
		return Spec{}, fmt.Errorf("%w: retry_after is only for mode throttle", ErrInvalidFault)
	}
	if s.RetryAfter, err = parseDuration("retry_after", w.RetryAfter); err != nil {
		return Spec{}, err
	}
	if w.RetryAfter != nil && s.RetryAfter <= 0 {
		return Spec{}, fmt.Errorf("%w: retry_after must be positive", ErrInvalidFault)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

func parseDuration(field string, v *string) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s must be a Go duration such as \"5m\" or \"250ms\"", ErrInvalidFault, field)
	}
	return d, nil
}
