package chaos

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Limits and defaults of a fault. They are fixed so that every instance of
// a fleet agrees on them.
const (
	// DefaultTTL is the TTL of a fault set without one.
	DefaultTTL = 10 * time.Minute
	// MaxTTL is the longest TTL a fault may have.
	MaxTTL = 24 * time.Hour
	// MaxFaults bounds the number of faults active at once.
	MaxFaults = 16
	// DefaultRetryAfter is the Retry-After of a throttle set without one.
	DefaultRetryAfter = time.Second
	// MaxRetryAfter is the longest Retry-After a throttle may announce.
	MaxRetryAfter = time.Hour
	// MaxLatency is the longest delay a latency fault may add.
	MaxLatency = 10 * time.Minute
	// MaxTenantLen bounds the tenant a fault is scoped to.
	MaxTenantLen = 128
)

// Spec describes a fault to set.
type Spec struct {
	// Mode is the kind of fault. Required.
	Mode Mode
	// Target is the edge the fault applies to. Required.
	Target Target
	// Tenant scopes the fault to one tenant; "" applies it to every tenant.
	Tenant string
	// Probability is the chance, in [0,1], that a matching call is hit.
	Probability float64
	// TTL is how long the fault lives; 0 means DefaultTTL. At most MaxTTL.
	TTL time.Duration
	// Latency is the delay a Latency fault adds: required (> 0, at most
	// MaxLatency) for Latency, must be 0 for other modes.
	Latency time.Duration
	// RetryAfter is what a Throttle fault announces; 0 means
	// DefaultRetryAfter. Must be 0 for other modes.
	RetryAfter time.Duration
}

// Validate reports whether s can be set. Every error matches
// ErrInvalidFault and names the offending field.
func (s Spec) Validate() error {
	switch s.Mode {
	case Throttle, Malformed, Outage, Latency:
	default:
		return fmt.Errorf("%w: unknown mode", ErrInvalidFault)
	}
	if err := s.Target.Validate(); err != nil {
		return err
	}
	if len(s.Tenant) > MaxTenantLen || !utf8.ValidString(s.Tenant) {
		return fmt.Errorf("%w: tenant must be valid UTF-8 of at most %d bytes", ErrInvalidFault, MaxTenantLen)
	}
	for _, r := range s.Tenant {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: tenant contains a control character", ErrInvalidFault)
		}
	}
	if math.IsNaN(s.Probability) || math.IsInf(s.Probability, 0) || s.Probability < 0 || s.Probability > 1 {
		return fmt.Errorf("%w: probability must be a finite number in [0,1]", ErrInvalidFault)
	}
	if s.TTL < 0 || s.TTL > MaxTTL {
		return fmt.Errorf("%w: ttl must be in (0, %s]", ErrInvalidFault, MaxTTL)
	}
	if s.Mode == Latency {
		if s.Latency <= 0 || s.Latency > MaxLatency {
			return fmt.Errorf("%w: latency must be in (0, %s] for mode latency", ErrInvalidFault, MaxLatency)
		}
	} else if s.Latency != 0 {
		return fmt.Errorf("%w: latency is only for mode latency", ErrInvalidFault)
	}
	if s.Mode == Throttle {
		if s.RetryAfter < 0 || s.RetryAfter > MaxRetryAfter {
			return fmt.Errorf("%w: retry_after must be in (0, %s]", ErrInvalidFault, MaxRetryAfter)
		}
	} else if s.RetryAfter != 0 {
		return fmt.Errorf("%w: retry_after is only for mode throttle", ErrInvalidFault)
	}
	return nil
}

// withDefaults returns s with TTL and RetryAfter defaulted.
func (s Spec) withDefaults() Spec {
	if s.TTL == 0 {
		s.TTL = DefaultTTL
	}
	if s.Mode == Throttle && s.RetryAfter == 0 {
		s.RetryAfter = DefaultRetryAfter
	}
	return s
}

// Key identifies the slot a fault occupies: setting a fault with the same
// mode, target and tenant replaces the previous one.
func (s Spec) Key() string {
	return s.Mode.String() + "|" + s.Target.String() + "|" + s.Tenant
}

// Fault is a fault that has been set: its Spec with defaults applied, an
// ID, and the absolute time it expires at.
type Fault struct {
	Spec
	// ID identifies this setting of the fault.
	ID string
	// ExpiresAt is when the fault disappears. It is absolute so that every
	// instance of a fleet expires it at the same moment.
	ExpiresAt time.Time
}

// Remaining returns how long the fault still lives at now (0 once expired).
func (f Fault) Remaining(now time.Time) time.Duration {
	d := f.ExpiresAt.Sub(now)
	if d < 0 {
		return 0
	}
	return d
}

// Active reports whether the fault has not expired at now.
func (f Fault) Active(now time.Time) bool { return now.Before(f.ExpiresAt) }
