package appinsights

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrConnectionString is matched by every connection string parsing
	// error (see ConnectionStringError).
	ErrConnectionString = errors.New("appinsights: invalid connection string")

	// ErrNoConnectionString is returned by NewFromEnv when
	// APPLICATIONINSIGHTS_CONNECTION_STRING is unset or blank.
	ErrNoConnectionString = errors.New("appinsights: " + EnvConnectionString + " is not set")

	// ErrInvalidConfig is matched by errors about an Option's value.
	ErrInvalidConfig = errors.New("appinsights: invalid configuration")

	// ErrShutdown is returned by Export and ForceFlush after Shutdown, and
	// matched by the error of an Export that Shutdown abandoned because
	// Shutdown's context ended first.
	ErrShutdown = errors.New("appinsights: exporter is shut down")

	// ErrTransmit is matched by every TransmitError: a batch of telemetry
	// that the ingestion endpoint did not accept or that could not be sent.
	ErrTransmit = errors.New("appinsights: transmission failed")

	// ErrNonFinite is returned (wrapped) by Export when data points with a
	// NaN or infinite value were skipped; the other points are sent.
	ErrNonFinite = errors.New("appinsights: non-finite value")
)

// ConnectionStringError describes why a connection string was rejected. It
// never carries the instrumentation key or any other value from the input.
type ConnectionStringError struct {
	// Key is the canonical name of the key at fault ("InstrumentationKey",
	// "IngestionEndpoint", ...), or empty when the fault is structural or
	// the key is not one this package knows.
	Key string
	// Segment is the 1-based position of the ';'-separated segment at fault,
	// or 0 when the fault is not tied to one segment.
	Segment int
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *ConnectionStringError) Error() string {
	var b strings.Builder
	b.WriteString(ErrConnectionString.Error())
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Segment > 0 {
		b.WriteString(" (segment ")
		b.WriteString(strconv.Itoa(e.Segment))
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether target is ErrConnectionString.
func (e *ConnectionStringError) Is(target error) bool { return target == ErrConnectionString }

// TransmitError reports one failed attempt to post a batch of telemetry to
// the ingestion endpoint: a transport error, a status other than 200, or a
// 206 partial success. It is passed to the handler set by WithErrorHandler
// for every such attempt, and Export returns the last one (wrapped) when
// items were finally not delivered.
type TransmitError struct {
	// StatusCode is the HTTP status the endpoint answered, or 0 when no
	// response was received (see Err).
	StatusCode int
	// Err is the transport error (or the context's error) when StatusCode
	// is 0, or a description of an unreadable 206 response.
	Err error
	// Items is the number of telemetry items the attempt did not deliver:
	// the whole batch, or for a 206 the items the endpoint rejected.
	Items int
	// RetryAfter is the delay the endpoint asked for in a Retry-After
	// header, 0 when there was none.
	RetryAfter time.Duration
}

// Error implements error.
func (e *TransmitError) Error() string {
	var b strings.Builder
	b.WriteString(ErrTransmit.Error())
	if e.StatusCode != 0 {
		b.WriteString(": HTTP status ")
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Items > 0 {
		b.WriteString(" (")
		b.WriteString(strconv.Itoa(e.Items))
		b.WriteString(" item(s))")
	}
	return b.String()
}

// Is reports whether target is ErrTransmit.
func (e *TransmitError) Is(target error) bool { return target == ErrTransmit }

// Unwrap returns the transport or context error, if any.
func (e *TransmitError) Unwrap() error { return e.Err }
