package repair

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Draft is a JSON Schema draft, used for schemas without "$schema".
type Draft int

// Supported drafts.
const (
	Draft2020 Draft = iota + 1 // 2020-12 (the default)
	Draft2019                  // 2019-09
	Draft7
	Draft6
	Draft4
)

// String returns the draft's name.
func (d Draft) String() string {
	switch d {
	case Draft2020:
		return "2020-12"
	case Draft2019:
		return "2019-09"
	case Draft7:
		return "draft-07"
	case Draft6:
		return "draft-06"
	case Draft4:
		return "draft-04"
	}
	return "Draft(" + strconv.Itoa(int(d)) + ")"
}

func (d Draft) schemaDraft() *jsonschema.Draft {
	switch d {
	case Draft2019:
		return jsonschema.Draft2019
	case Draft7:
		return jsonschema.Draft7
	case Draft6:
		return jsonschema.Draft6
	case Draft4:
		return jsonschema.Draft4
	}
	return jsonschema.Draft2020
}

// Registry defaults.
const (
	DefaultMaxViolations   = 8
	DefaultMaxMessageBytes = 160
	DefaultMaxArgsBytes    = 256 << 10
)

type registryConfig struct {
	draft           Draft
	assertFormat    bool
	maxViolations   int
	maxMessageBytes int
	maxArgsBytes    int
}

func defaultRegistryConfig() registryConfig {
	return registryConfig{
		draft:           Draft2020,
		maxViolations:   DefaultMaxViolations,
		maxMessageBytes: DefaultMaxMessageBytes,
		maxArgsBytes:    DefaultMaxArgsBytes,
	}
}

// RegistryOption configures NewRegistry.
type RegistryOption interface{ applyRegistry(*registryConfig) }

type registryOptionFunc func(*registryConfig)

func (f registryOptionFunc) applyRegistry(c *registryConfig) { f(c) }

// WithDefaultDraft sets the draft for schemas without "$schema"
// (default Draft2020).
func WithDefaultDraft(d Draft) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.draft = d })
}

// WithFormatAssertion makes "format" an assertion for every draft (by
// default only draft-07 and older assert formats).
func WithFormatAssertion() RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.assertFormat = true })
}

// WithMaxViolations caps how many violations a ValidationError lists
// (default 8, range 1..100).
func WithMaxViolations(n int) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.maxViolations = n })
}

// WithMaxMessageBytes caps each violation message (default 160, range
// 32..4096).
func WithMaxMessageBytes(n int) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.maxMessageBytes = n })
}

// WithMaxArgsBytes caps the size of arguments that are parsed, locally
// fixed or sent to a model (default 256 KiB, range 1 KiB..64 MiB).
func WithMaxArgsBytes(n int) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.maxArgsBytes = n })
}

// Registry maps tool names to compiled schemas. Schemas are compiled once,
// at registration. It is safe for concurrent use by multiple goroutines;
// lookups take no lock.
type Registry struct {
	cfg   registryConfig
	mu    sync.Mutex // serialises writers
	tools atomic.Pointer[map[string]*Schema]
}

// NewRegistry returns an empty registry.
func NewRegistry(opts ...RegistryOption) (*Registry, error) {
	cfg := defaultRegistryConfig()
	for _, o := range opts {
		o.applyRegistry(&cfg)
	}
	switch {
	case cfg.draft < Draft2020 || cfg.draft > Draft4:
		return nil, fmt.Errorf("%w: unknown draft %v", ErrInvalidConfig, cfg.draft)
	case cfg.maxViolations < 1 || cfg.maxViolations > 100:
		return nil, fmt.Errorf("%w: max violations %d not in 1..100", ErrInvalidConfig, cfg.maxViolations)
	case cfg.maxMessageBytes < 32 || cfg.maxMessageBytes > 4096:
		return nil, fmt.Errorf("%w: max message bytes %d not in 32..4096", ErrInvalidConfig, cfg.maxMessageBytes)
	case cfg.maxArgsBytes < 1<<10 || cfg.maxArgsBytes > 64<<20:
		return nil, fmt.Errorf("%w: max args bytes %d not in 1KiB..64MiB", ErrInvalidConfig, cfg.maxArgsBytes)
	}
	r := &Registry{cfg: cfg}
	m := map[string]*Schema{}
	r.tools.Store(&m)
	return r, nil
}

// Schema is one tool's compiled schema. It is immutable and safe for
// concurrent use.
type Schema struct {
	tool     string
	text     string // compact schema JSON, for prompts
	compiled *jsonschema.Schema
	cfg      *registryConfig
}

// Tool returns the tool name the schema was registered under.
func (s *Schema) Tool() string { return s.tool }

// JSON returns the schema as compact JSON.
func (s *Schema) JSON() string { return s.text }

// refuseLoader refuses every URL: schemas must be self-contained (local
// "$ref"s and the embedded meta-schemas only). Nothing is loaded from the
// network or the file system.
type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("loading %q refused: schemas must be self-contained", u)
}

// Register compiles schema (JSON) for tool. It returns an error matching
// ErrInvalidSchema for malformed or uncompilable schemas (including any
// "$ref" to a document other than the schema itself and the standard
// meta-schemas), ErrDuplicateTool if the name is taken.
func (r *Registry) Register(tool string, schema []byte) error {
	if tool == "" {
		return &SchemaError{Tool: tool, Err: errors.New("empty tool name")}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return &SchemaError{Tool: tool, Err: err}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, schema); err != nil {
		return &SchemaError{Tool: tool, Err: err}
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.DefaultDraft(r.cfg.draft.schemaDraft())
	if r.cfg.assertFormat {
		c.AssertFormat()
	}
	loc := "mem:///repair/tools/" + url.PathEscape(tool) + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return &SchemaError{Tool: tool, Err: err}
	}
	compiled, err := c.Compile(loc)
	if err != nil {
		return &SchemaError{Tool: tool, Err: err}
	}
	s := &Schema{tool: tool, text: compact.String(), compiled: compiled, cfg: &r.cfg}

	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.tools.Load()
	if _, ok := old[tool]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateTool, tool)
	}
	m := make(map[string]*Schema, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[tool] = s
	r.tools.Store(&m)
	return nil
}

// Lookup returns the schema registered for tool.
func (r *Registry) Lookup(tool string) (*Schema, bool) {
	s, ok := (*r.tools.Load())[tool]
	return s, ok
}

// Tools returns the registered tool names, sorted.
func (r *Registry) Tools() []string {
	m := *r.tools.Load()
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Validate checks args against tool's schema. It returns nil, a
// *ValidationError, or an error matching ErrUnknownTool.
func (r *Registry) Validate(tool string, args []byte) error {
	s, ok := r.Lookup(tool)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTool, tool)
	}
	if verr := s.validate(args); verr != nil {
		return verr
	}
	return nil
}

// Validate checks args, one JSON document, against the schema. It returns
// nil or a *ValidationError.
func (s *Schema) Validate(args []byte) error {
	if verr := s.validate(args); verr != nil {
		return verr
	}
	return nil
}

// validate parses and validates args; it allocates nothing beyond the
// parsed document and the validator's own work when args are valid.
func (s *Schema) validate(args []byte) *ValidationError {
	if len(args) > s.cfg.maxArgsBytes {
		return s.single("size", "arguments are "+strconv.Itoa(len(args))+
			" bytes; the limit is "+strconv.Itoa(s.cfg.maxArgsBytes))
	}
	v, serr := parseJSON(args)
	if serr != nil {
		return s.single("json", "not a single JSON document: "+serr.Error())
	}
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return s.single("schema", excerpt(err.Error(), s.cfg.maxMessageBytes))
	}
	return s.convert(ve)
}

func (s *Schema) single(keyword, msg string) *ValidationError {
	return &ValidationError{
		Tool:       s.tool,
		Violations: []Violation{{Keyword: keyword, Message: excerpt(msg, s.cfg.maxMessageBytes)}},
	}
}

var englishPrinter = message.NewPrinter(language.English)

// convert flattens the library's error tree into sorted, deduplicated,
// capped violations. Structural nodes (the root, groups, "$ref" hops and
// allOf wrappers) are skipped: their causes say more.
func (s *Schema) convert(ve *jsonschema.ValidationError) *ValidationError {
	var all []Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		skip := false
		switch e.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference:
			skip = true
		case *kind.AllOf:
			skip = len(e.Causes) > 0
		}
		if !skip {
			ek := e.ErrorKind
			if ap, ok := ek.(*kind.AdditionalProperties); ok {
				// The library lists them in map order; sort for stability.
				props := slices.Clone(ap.Properties)
				slices.Sort(props)
				ek = &kind.AdditionalProperties{Properties: props}
			}
			kw := strings.Join(ek.KeywordPath(), "/")
			if kw == "" {
				kw = "schema"
			}
			all = append(all, Violation{
				Path:    pointer(e.InstanceLocation),
				Keyword: kw,
				Message: excerpt(ek.LocalizedString(englishPrinter), s.cfg.maxMessageBytes),
			})
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(all) == 0 {
		all = append(all, Violation{Keyword: "schema", Message: "does not match the schema"})
	}
	slices.SortFunc(all, func(a, b Violation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if c := strings.Compare(a.Keyword, b.Keyword); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	all = slices.Compact(all)
	out := &ValidationError{Tool: s.tool, Violations: all}
	if n := s.cfg.maxViolations; len(all) > n {
		out.Violations = slices.Clip(all[:n])
		out.Omitted = len(all) - n
	}
	return out
}

// pointer renders tokens as a JSON Pointer.
func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}
