package budget

import "strconv"

// Decision is the enforcer's answer to a reservation. The zero value is
// not a decision (and in particular not Allow).
type Decision uint8

const (
	// Allow admits the request on the primary model.
	Allow Decision = iota + 1
	// Downshift admits the request, which should use the cheaper model:
	// the tenant is at or above the downshift threshold.
	Downshift
	// Block refuses the request: it would take the tenant to or past its
	// limit (or the store is unavailable under the fail-closed policy).
	Block
)

// String returns "allow", "downshift" or "block".
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Downshift:
		return "downshift"
	case Block:
		return "block"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Admitted reports whether the decision lets the request run (Allow or
// Downshift).
func (d Decision) Admitted() bool { return d == Allow || d == Downshift }

// Outcome says what a Settle or Release did in the store.
type Outcome uint8

const (
	// Applied means the reservation's live hold was removed and, for a
	// settle, the actual cost recorded.
	Applied Outcome = iota + 1
	// Late means the hold had already expired and been returned; a settle
	// still records the actual cost (the money was spent), a release has
	// nothing left to return.
	Late
	// Duplicate means the reservation was already settled or released (or
	// is unknown to the store); nothing changed.
	Duplicate
)

// String returns "applied", "late" or "duplicate".
func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Late:
		return "late"
	case Duplicate:
		return "duplicate"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}
