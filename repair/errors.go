package repair

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Typed errors of this package match them with errors.Is.
var (
	// ErrInvalidArguments is matched by every *ValidationError.
	ErrInvalidArguments = errors.New("repair: invalid arguments")
	// ErrNotRepaired is matched by every *NotRepairedError: the arguments
	// could not be made valid within the bounds.
	ErrNotRepaired = errors.New("repair: arguments not repaired")
	// ErrInvalidSchema is matched by every *SchemaError returned by
	// Registry.Register.
	ErrInvalidSchema = errors.New("repair: invalid schema")
	// ErrUnknownTool is returned when a tool has no registered schema.
	ErrUnknownTool = errors.New("repair: unknown tool")
	// ErrDuplicateTool is returned when a tool name is registered twice.
	ErrDuplicateTool = errors.New("repair: tool already registered")
	// ErrRepairable marks a tool's own execution error as caused by its
	// arguments, so Do feeds it back to the Repairer. Wrap it
	// (fmt.Errorf("...: %w", repair.ErrRepairable)) or use Repairable.
	ErrRepairable = errors.New("repair: repairable tool error")
	// ErrInvalidConfig is wrapped by configuration errors from New,
	// NewRegistry and NewModelRepairer.
	ErrInvalidConfig = errors.New("repair: invalid configuration")
)

// Violation is one reason arguments do not fit a schema.
type Violation struct {
	// Path is the JSON Pointer (RFC 6901) of the offending value in the
	// arguments; "" is the whole document.
	Path string
	// Keyword is the schema keyword that failed ("type", "required",
	// "additionalProperties", "enum", ...), or "json" when the arguments are
	// not one JSON document and "size" when they exceed the size limit.
	Keyword string
	// Message is a short English explanation, at most the registry's
	// message limit in bytes.
	Message string
}

// ValidationError lists why arguments do not fit a tool's schema. The
// violations are sorted by Path, then Keyword, then Message, deduplicated
// and capped (see WithMaxViolations); Omitted counts the ones left out. It
// is short enough to put into a repair prompt.
type ValidationError struct {
	Tool       string
	Violations []Violation
	Omitted    int
}

// Error renders the violations on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("repair: invalid arguments for tool ")
	b.WriteString(strconv.Quote(e.Tool))
	b.WriteString(": ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		writeViolation(&b, v)
	}
	if e.Omitted > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(e.Omitted))
		b.WriteString(" more")
	}
	return b.String()
}

func writeViolation(b *strings.Builder, v Violation) {
	path := v.Path
	if path == "" {
		path = "(root)"
	}
	b.WriteString(path)
	b.WriteString(" [")
	b.WriteString(v.Keyword)
	b.WriteString("]: ")
	b.WriteString(v.Message)
}

// Is reports whether target is ErrInvalidArguments.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidArguments }

// sameAs reports whether two validation errors list the same violations.
func (e *ValidationError) sameAs(o *ValidationError) bool {
	if e == nil || o == nil {
		return e == o
	}
	if e.Omitted != o.Omitted || len(e.Violations) != len(o.Violations) {
		return false
	}
	for i := range e.Violations {
		if e.Violations[i] != o.Violations[i] {
			return false
		}
	}
	return true
}

// SchemaError reports a schema that could not be registered.
type SchemaError struct {
	Tool string
	Err  error
}

// Error describes the schema problem.
func (e *SchemaError) Error() string {
	return "repair: invalid schema for tool " + strconv.Quote(e.Tool) + ": " + e.Err.Error()
}

// Unwrap returns the underlying compiler or decoding error.
func (e *SchemaError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidSchema.
func (e *SchemaError) Is(target error) bool { return target == ErrInvalidSchema }

// StopReason says why Do gave up.
type StopReason int

// Stop reasons.
const (
	// StopExhausted: every allowed model attempt was used.
	StopExhausted StopReason = iota + 1
	// StopRepeated: an attempt produced the same violations (or the same
	// repairable tool error) as the one before it.
	StopRepeated
	// StopGuard: the Guard refused another model attempt.
	StopGuard
	// StopCanceled: the context was done.
	StopCanceled
	// StopRepairerFailed: the Repairer (for example its model call)
	// returned an error.
	StopRepairerFailed
	// StopNoRepairer: local fixes did not help and no Repairer is
	// configured (or MaxAttempts is 0).
	StopNoRepairer
	// StopTooLarge: the arguments exceed the size limit, so they are not
	// sent to a model.
	StopTooLarge
)

// String returns the reason in lower-case snake form.
func (r StopReason) String() string {
	switch r {
	case StopExhausted:
		return "exhausted"
	case StopRepeated:
		return "repeated"
	case StopGuard:
		return "guard"
	case StopCanceled:
		return "canceled"
	case StopRepairerFailed:
		return "repairer_failed"
	case StopNoRepairer:
		return "no_repairer"
	case StopTooLarge:
		return "too_large"
	}
	return "StopReason(" + strconv.Itoa(int(r)) + ")"
}

// AttemptRecord is one repair attempt kept in a NotRepairedError.
type AttemptRecord struct {
	// Attempt is 0 for the local fix, 1..MaxAttempts for model attempts.
	Attempt int
	Kind    Kind
	Outcome Outcome
}

// NotRepairedError reports that Do could not obtain valid arguments.
// It matches ErrNotRepaired, and through Unwrap also the last validation
// error (ErrInvalidArguments), the last repairable tool error, and the
// cause of the stop (the guard's error, the context's error or the
// Repairer's error).
type NotRepairedError struct {
	Tool string
	// Attempts are the repair attempts made, in order.
	Attempts []AttemptRecord
	// ModelAttempts is how many of them called the Repairer.
	ModelAttempts int
	// Reason says why the loop stopped.
	Reason StopReason
	// Last is the validation error of the last candidate arguments, nil
	// when the last candidate was valid but the tool rejected it
	// (see LastToolErr).
	Last *ValidationError
	// LastToolErr is the last repairable tool error, if the tool ran.
	LastToolErr error
	// Cause is the error that stopped the loop, if any (guard, context,
	// Repairer).
	Cause error
	// Excerpt is at most ExcerptBytes bytes of the last candidate
	// arguments, for diagnosis. It is not part of Error().
	Excerpt string
}

// ExcerptBytes bounds NotRepairedError.Excerpt and the tool error text put
// into a repair prompt.
const ExcerptBytes = 256

// Error summarises the failure without raw arguments.
func (e *NotRepairedError) Error() string {
	var b strings.Builder
	b.WriteString("repair: arguments for tool ")
	b.WriteString(strconv.Quote(e.Tool))
	b.WriteString(" not repaired after ")
	b.WriteString(strconv.Itoa(e.ModelAttempts))
	b.WriteString(" model attempt(s) (")
	b.WriteString(e.Reason.String())
	b.WriteString(")")
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	if e.Last != nil && len(e.Last.Violations) > 0 {
		b.WriteString("; last: ")
		writeViolation(&b, e.Last.Violations[0])
		if n := len(e.Last.Violations) - 1 + e.Last.Omitted; n > 0 {
			b.WriteString(" (+")
			b.WriteString(strconv.Itoa(n))
			b.WriteString(" more)")
		}
	} else if e.LastToolErr != nil {
		b.WriteString("; last tool error: ")
		b.WriteString(excerpt(e.LastToolErr.Error(), ExcerptBytes))
	}
	return b.String()
}

// Is reports whether target is ErrNotRepaired.
func (e *NotRepairedError) Is(target error) bool { return target == ErrNotRepaired }

// Unwrap returns the last validation error, the last tool error and the
// cause, whichever are set.
func (e *NotRepairedError) Unwrap() []error {
	errs := make([]error, 0, 3)
	if e.Last != nil {
		errs = append(errs, e.Last)
	}
	if e.LastToolErr != nil {
		errs = append(errs, e.LastToolErr)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// repairableError marks an error as repairable.
type repairableError struct{ err error }

func (e *repairableError) Error() string        { return e.err.Error() }
func (e *repairableError) Unwrap() error        { return e.err }
func (e *repairableError) Is(target error) bool { return target == ErrRepairable }

// Repairable marks err, returned by a tool, as caused by its arguments:
// Do feeds its message back to the Repairer like a validation error.
// Repairable(nil) is nil.
func Repairable(err error) error {
	if err == nil {
		return nil
	}
	return &repairableError{err: err}
}

// excerpt cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
