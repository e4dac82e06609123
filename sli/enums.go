package sli

import "fmt"

// ToolStatus is how a tool call ended, the status attribute of
// agent.tool.success.
type ToolStatus int

// Tool statuses. The zero value is not a status; the Recorder records it as
// "_other".
const (
	// ToolSuccess: the first tool of the chain answered.
	ToolSuccess ToolStatus = iota + 1
	// ToolFallback: a later step of the chain answered.
	ToolFallback
	// ToolFailure: no step answered.
	ToolFailure
)

// label returns the attribute value: the String form, or OtherValue for an
// invalid status.
func (s ToolStatus) label() string {
	switch s {
	case ToolSuccess:
		return "success"
	case ToolFallback:
		return "fallback"
	case ToolFailure:
		return "failure"
	}
	return OtherValue
}

// String returns "success", "fallback" or "failure".
func (s ToolStatus) String() string {
	if l := s.label(); l != OtherValue {
		return l
	}
	return fmt.Sprintf("ToolStatus(%d)", int(s))
}

// ParseToolStatus parses the String form of a ToolStatus.
func ParseToolStatus(s string) (ToolStatus, error) {
	for v := ToolSuccess; v <= ToolFailure; v++ {
		if v.label() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("sli: unknown tool status %q", s)
}

// RepairKind is how a tool call's arguments were repaired, the kind
// attribute of agent.repair.retry.
type RepairKind int

// Repair kinds. The zero value is not a kind; the Recorder records it as
// "_other".
const (
	// RepairLocal: a deterministic fix without a model call.
	RepairLocal RepairKind = iota + 1
	// RepairModel: the model was asked to repair the arguments.
	RepairModel
)

func (k RepairKind) label() string {
	switch k {
	case RepairLocal:
		return "local"
	case RepairModel:
		return "model"
	}
	return OtherValue
}

// String returns "local" or "model".
func (k RepairKind) String() string {
	if l := k.label(); l != OtherValue {
		return l
	}
	return fmt.Sprintf("RepairKind(%d)", int(k))
}

// ParseRepairKind parses the String form of a RepairKind.
func ParseRepairKind(s string) (RepairKind, error) {
	for v := RepairLocal; v <= RepairModel; v++ {
		if v.label() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("sli: unknown repair kind %q", s)
}

// BreachDecision is what a budget breach led to, the decision attribute of
// agent.budget.breach.
type BreachDecision int

// Breach decisions. The zero value is not a decision; the Recorder records
// it as "_other".
const (
	// BreachDownshift: the tenant crossed the downshift threshold and was
	// moved to the cheaper model.
	BreachDownshift BreachDecision = iota + 1
	// BreachBlock: the tenant's budget is spent and the request was refused.
	BreachBlock
)

func (d BreachDecision) label() string {
	switch d {
	case BreachDownshift:
		return "downshift"
	case BreachBlock:
		return "block"
	}
	return OtherValue
}

// String returns "downshift" or "block".
func (d BreachDecision) String() string {
	if l := d.label(); l != OtherValue {
		return l
	}
	return fmt.Sprintf("BreachDecision(%d)", int(d))
}

// ParseBreachDecision parses the String form of a BreachDecision.
func ParseBreachDecision(s string) (BreachDecision, error) {
	for v := BreachDownshift; v <= BreachBlock; v++ {
		if v.label() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("sli: unknown breach decision %q", s)
}

// UnaccountedReason is why a successful model response's cost could not be
// accounted for, the reason attribute of agent.model.unaccounted.
type UnaccountedReason int

// Unaccounted reasons. The zero value is not a reason; the Recorder records
// it as "_other".
const (
	// UnaccountedNoUsage: the response carried no token usage.
	UnaccountedNoUsage UnaccountedReason = iota + 1
	// UnaccountedUnknownModel: the response carried usage, but the rate card
	// has no price for its model (or there is no rate card).
	UnaccountedUnknownModel
)

func (u UnaccountedReason) label() string {
	switch u {
	case UnaccountedNoUsage:
		return "no_usage"
	case UnaccountedUnknownModel:
		return "unknown_model"
	}
	return OtherValue
}

// String returns "no_usage" or "unknown_model".
func (u UnaccountedReason) String() string {
	if l := u.label(); l != OtherValue {
		return l
	}
	return fmt.Sprintf("UnaccountedReason(%d)", int(u))
}

// ParseUnaccountedReason parses the String form of an UnaccountedReason.
func ParseUnaccountedReason(s string) (UnaccountedReason, error) {
	for v := UnaccountedNoUsage; v <= UnaccountedUnknownModel; v++ {
		if v.label() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("sli: unknown unaccounted reason %q", s)
}
