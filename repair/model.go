package repair

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Role is the author of a Message.
type Role int

// Message roles.
const (
	RoleSystem Role = iota + 1
	RoleUser
	RoleAssistant
)

// String returns "system", "user" or "assistant", the names chat APIs use.
func (r Role) String() string {
	switch r {
	case RoleSystem:
		return "system"
	case RoleUser:
		return "user"
	case RoleAssistant:
		return "assistant"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Message is one chat message sent to a Model.
type Message struct {
	Role    Role
	Content string
}

// Completion is a Model's answer.
type Completion struct {
	// Text is the model's reply.
	Text string
	// Model is the model that answered, if known.
	Model string
	// Usage is the call's token usage. It should be filled even when
	// Complete returns an error after tokens were consumed.
	Usage Usage
}

// Model is the minimal chat-completion client the ModelRepairer needs;
// adapt any SDK to it. Complete must honour ctx.
type Model interface {
	Complete(ctx context.Context, messages []Message) (Completion, error)
}

// ModelFunc adapts a function to Model.
type ModelFunc func(ctx context.Context, messages []Message) (Completion, error)

// Complete calls f.
func (f ModelFunc) Complete(ctx context.Context, messages []Message) (Completion, error) {
	return f(ctx, messages)
}

// Request is what a Repairer is asked to repair.
type Request struct {
	Tool   string
	Schema *Schema
	// Args are the current (invalid or rejected) arguments, after local
	// fixes when they applied.
	Args []byte
	// Errors lists why Args are invalid; nil when Args are valid but the
	// tool rejected them (see ToolError).
	Errors *ValidationError
	// ToolError is a bounded excerpt of the tool's repairable error
	// message, "" when Errors is set.
	ToolError string
	// Attempt is 1..MaxAttempts.
	Attempt int
}

// Result is a Repairer's answer.
type Result struct {
	// Args are the new arguments; they are validated by the loop.
	Args []byte
	// Called reports that a model was called; then Model and Usage
	// describe the call (summed if the Repairer made several) and are
	// reported to the Observer, also when Repair returns an error.
	Called bool
	Model  string
	Usage  Usage
}

// Repairer turns invalid arguments into new arguments. Implementations must
// be safe for concurrent use when the Loop is shared.
type Repairer interface {
	Repair(ctx context.Context, req Request) (Result, error)
}

// RepairerFunc adapts a function to Repairer.
type RepairerFunc func(ctx context.Context, req Request) (Result, error)

// Repair calls f.
func (f RepairerFunc) Repair(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

// ModelRepairer defaults.
const (
	DefaultPromptArgsBytes = 16 << 10
)

// DefaultInstructions is the ModelRepairer's system message.
const DefaultInstructions = "You correct the arguments of a tool call so that they validate against the tool's JSON Schema. " +
	"Reply with the corrected arguments as one JSON object and nothing else: no prose, no Markdown code fences. " +
	"Keep every value that is already valid and change only what the errors name. " +
	"Convert a value to the required type only when the intended value is clear (\"5\" to 5). " +
	"Do not invent values that the original arguments do not imply."

type modelRepairerConfig struct {
	instructions    string
	promptArgsBytes int
}

// ModelRepairerOption configures NewModelRepairer.
type ModelRepairerOption interface{ applyModel(*modelRepairerConfig) }

type modelOptionFunc func(*modelRepairerConfig)

func (f modelOptionFunc) applyModel(c *modelRepairerConfig) { f(c) }

// WithInstructions replaces DefaultInstructions as the system message.
func WithInstructions(s string) ModelRepairerOption {
	return modelOptionFunc(func(c *modelRepairerConfig) { c.instructions = s })
}

// WithPromptArgsBytes caps how many bytes of the invalid arguments go into
// the prompt (default 16 KiB, range 256..1 MiB); longer arguments are cut
// and marked.
func WithPromptArgsBytes(n int) ModelRepairerOption {
	return modelOptionFunc(func(c *modelRepairerConfig) { c.promptArgsBytes = n })
}

// ModelRepairer is the LLM-backed Repairer: it sends the schema, the
// invalid arguments and the violations to a Model and takes the JSON object
// out of the reply with CleanArgs. It is safe for concurrent use if the
// Model is.
type ModelRepairer struct {
	model Model
	cfg   modelRepairerConfig
}

var _ Repairer = (*ModelRepairer)(nil)

// NewModelRepairer returns a Repairer that asks m.
func NewModelRepairer(m Model, opts ...ModelRepairerOption) (*ModelRepairer, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil Model", ErrInvalidConfig)
	}
	cfg := modelRepairerConfig{instructions: DefaultInstructions, promptArgsBytes: DefaultPromptArgsBytes}
	for _, o := range opts {
		o.applyModel(&cfg)
	}
	if strings.TrimSpace(cfg.instructions) == "" {
		return nil, fmt.Errorf("%w: empty instructions", ErrInvalidConfig)
	}
	if cfg.promptArgsBytes < 256 || cfg.promptArgsBytes > 1<<20 {
		return nil, fmt.Errorf("%w: prompt args bytes %d not in 256..1MiB", ErrInvalidConfig, cfg.promptArgsBytes)
	}
	return &ModelRepairer{model: m, cfg: cfg}, nil
}

// Prompt returns the messages Repair sends for req.
func (r *ModelRepairer) Prompt(req Request) []Message {
	var b strings.Builder
	b.WriteString("Tool: ")
	b.WriteString(req.Tool)
	if req.Schema != nil {
		b.WriteString("\nJSON Schema of its arguments:\n")
		b.WriteString(req.Schema.JSON())
	}
	b.WriteString("\nArguments to correct:\n")
	b.WriteString(excerpt(string(req.Args), r.cfg.promptArgsBytes))
	if req.Errors != nil {
		b.WriteString("\nValidation errors (JSON Pointer [keyword]: message):")
		for _, v := range req.Errors.Violations {
			b.WriteString("\n- ")
			var vb strings.Builder
			writeViolation(&vb, v)
			b.WriteString(vb.String())
		}
		if req.Errors.Omitted > 0 {
			b.WriteString("\n- and ")
			b.WriteString(strconv.Itoa(req.Errors.Omitted))
			b.WriteString(" more")
		}
	}
	if req.ToolError != "" {
		b.WriteString("\nThe tool rejected these arguments: ")
		b.WriteString(req.ToolError)
	}
	b.WriteString("\nReply with the corrected JSON object only.")
	return []Message{
		{Role: RoleSystem, Content: r.cfg.instructions},
		{Role: RoleUser, Content: b.String()},
	}
}

// Repair asks the model once. The reply is cleaned with CleanArgs; a reply
// without one unambiguous JSON object is returned as is, so the loop's
// validation reports it ("json" keyword) to the next attempt.
func (r *ModelRepairer) Repair(ctx context.Context, req Request) (Result, error) {
	c, err := r.model.Complete(ctx, r.Prompt(req))
	res := Result{Called: true, Model: c.Model, Usage: c.Usage}
	if err != nil {
		return res, fmt.Errorf("repair: model call: %w", err)
	}
	text := []byte(c.Text)
	if fixed, _, ok := CleanArgs(text); ok {
		res.Args = fixed
	} else {
		res.Args = text
	}
	return res, nil
}
