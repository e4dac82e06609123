package chaos

import (
	"fmt"
	"strings"
)

// Mode is the kind of fault an injector applies. The zero Mode is not a
// valid mode.
type Mode int

const (
	// Throttle fails the call with a *ThrottleError carrying a Retry-After,
	// as a rate-limited API would.
	Throttle Mode = iota + 1
	// Malformed lets the call proceed but tells the caller to corrupt the
	// payload it returns (see Effect.Corrupt), as a model emitting broken
	// tool arguments or a tool returning garbage would.
	Malformed
	// Outage fails the call with an *OutageError, as an unreachable
	// dependency would.
	Outage
	// Latency delays the call by the fault's latency before it proceeds.
	Latency
)

// String returns the mode's wire name: "throttle", "malformed", "outage"
// or "latency"; "unknown" for anything else.
func (m Mode) String() string {
	switch m {
	case Throttle:
		return "throttle"
	case Malformed:
		return "malformed"
	case Outage:
		return "outage"
	case Latency:
		return "latency"
	default:
		return "unknown"
	}
}

// ParseMode returns the Mode named s (one of the names String returns).
// The error matches ErrInvalidFault.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "throttle":
		return Throttle, nil
	case "malformed":
		return Malformed, nil
	case "outage":
		return Outage, nil
	case "latency":
		return Latency, nil
	}
	return 0, fmt.Errorf("%w: unknown mode %q (want throttle, malformed, outage or latency)", ErrInvalidFault, s)
}

// TargetKind says which edge a Target designates. The zero TargetKind is
// not a valid kind.
type TargetKind int

const (
	// TargetModel is the model edge (calls to the LLM API).
	TargetModel TargetKind = iota + 1
	// TargetTools is every tool.
	TargetTools
	// TargetTool is one named tool.
	TargetTool
)

// String returns "model", "tools", "tool" or "unknown".
func (k TargetKind) String() string {
	switch k {
	case TargetModel:
		return "model"
	case TargetTools:
		return "tools"
	case TargetTool:
		return "tool"
	default:
		return "unknown"
	}
}

// MaxToolNameLen bounds the tool name in a target.
const MaxToolNameLen = 128

// Target designates an edge: the model, all tools, or one named tool.
// Construct one with Model, Tools, Tool or ParseTarget. The zero Target is
// not valid; faults cannot have it and calls made with it match nothing.
type Target struct {
	kind TargetKind
	tool string
}

// Model returns the target for the model edge.
func Model() Target { return Target{kind: TargetModel} }

// Tools returns the target that stands for every tool. As a fault target it
// matches a call at any tool.
func Tools() Target { return Target{kind: TargetTools} }

// Tool returns the target for the tool called name. Use ParseTarget or
// Target.Validate to check a name that comes from configuration.
func Tool(name string) Target { return Target{kind: TargetTool, tool: name} }

// ParseTarget parses the wire form of a target: "model", "tools" or
// "tool:<name>". Names are 1 to MaxToolNameLen printable ASCII characters
// without spaces. The error matches ErrInvalidFault.
func ParseTarget(s string) (Target, error) {
	switch {
	case s == "model":
		return Model(), nil
	case s == "tools":
		return Tools(), nil
	case strings.HasPrefix(s, "tool:"):
		t := Tool(strings.TrimPrefix(s, "tool:"))
		if err := t.Validate(); err != nil {
			return Target{}, err
		}
		return t, nil
	}
	return Target{}, fmt.Errorf("%w: unknown target %q (want model, tools or tool:<name>)", ErrInvalidFault, s)
}

// Kind returns the target's kind.
func (t Target) Kind() TargetKind { return t.kind }

// ToolName returns the tool's name for a TargetTool target, "" otherwise.
func (t Target) ToolName() string { return t.tool }

// String returns the wire form: "model", "tools", "tool:<name>", or
// "unknown".
func (t Target) String() string {
	switch t.kind {
	case TargetModel:
		return "model"
	case TargetTools:
		return "tools"
	case TargetTool:
		return "tool:" + t.tool
	default:
		return "unknown"
	}
}

// Validate reports whether t is a valid fault target. The error matches
// ErrInvalidFault.
func (t Target) Validate() error {
	switch t.kind {
	case TargetModel, TargetTools:
		if t.tool != "" {
			return fmt.Errorf("%w: target %s takes no tool name", ErrInvalidFault, t.kind)
		}
		return nil
	case TargetTool:
		if t.tool == "" || len(t.tool) > MaxToolNameLen {
			return fmt.Errorf("%w: tool name must be 1 to %d characters", ErrInvalidFault, MaxToolNameLen)
		}
		for i := 0; i < len(t.tool); i++ {
			if c := t.tool[i]; c <= ' ' || c > '~' {
				return fmt.Errorf("%w: tool name %q has a character outside printable ASCII", ErrInvalidFault, t.tool)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown target", ErrInvalidFault)
}

// covers reports whether a fault aimed at t applies to a call made at call.
func (t Target) covers(call Target) bool {
	switch t.kind {
	case TargetModel:
		return call.kind == TargetModel
	case TargetTools:
		return call.kind == TargetTool || call.kind == TargetTools
	case TargetTool:
		return call.kind == TargetTool && call.tool == t.tool
	}
	return false
}
