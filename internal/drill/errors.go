package drill

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Errors returned by Run match them with errors.Is.
var (
	// ErrConfig reports an invalid Config; Run sends nothing.
	ErrConfig = errors.New("drill: invalid config")
	// ErrUnreachable reports that the service (or its admin API) could not be
	// reached at all: the connection was refused or the host did not resolve.
	ErrUnreachable = errors.New("drill: service unreachable")
	// ErrUnauthorized reports that the admin API answered 401: the token is
	// missing, wrong, or the endpoint is disabled. An *AdminError with Status
	// 401 matches both ErrUnauthorized and ErrAdminRejected.
	ErrUnauthorized = errors.New("drill: admin API rejected the token")
	// ErrAdminRejected reports that the admin API answered with a status other
	// than the expected 2xx; the *AdminError carries the server's message.
	ErrAdminRejected = errors.New("drill: admin API rejected the request")
	// ErrClearFailed reports that the fault could not be cleared at the end of
	// the drill. The fault still expires by its TTL.
	ErrClearFailed = errors.New("drill: clearing the fault failed")
	// ErrInterrupted reports that the caller's context ended the drill early
	// (Ctrl-C in the command). The error also wraps the context's cause.
	ErrInterrupted = errors.New("drill: interrupted")
)

// AdminError is a non-2xx answer of the admin API at /admin/chaos. It
// matches ErrAdminRejected, and ErrUnauthorized when Status is 401.
type AdminError struct {
	Op      string // "set fault" or "clear faults"
	URL     string // the admin endpoint called
	Status  int    // HTTP status code
	Code    string // error.code of the JSON body, when there is one
	Message string // error.message of the JSON body, or the start of a non-JSON body
}

// Error implements error.
func (e *AdminError) Error() string {
	msg := fmt.Sprintf("drill: %s: admin API %s answered %d %s", e.Op, e.URL, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += "; check -token or LLMOPS_ADMIN_TOKEN (the endpoint is disabled when the service has no token configured)"
	case http.StatusNotFound:
		msg += "; is the chaos admin handler mounted at this URL?"
	}
	return msg
}

// Is matches ErrAdminRejected, and ErrUnauthorized for a 401.
func (e *AdminError) Is(target error) bool {
	switch target {
	case ErrAdminRejected:
		return true
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// UnreachableError reports a connection that could not be made. It matches
// ErrUnreachable and unwraps to the transport error.
type UnreachableError struct {
	URL string // what was being called
	Err error  // the transport error, e.g. connection refused
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("drill: service unreachable at %s: %v", e.URL, e.Err)
}

// Is matches ErrUnreachable.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }
