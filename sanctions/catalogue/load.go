package catalogue

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultFile []byte

// maxFileSize bounds what Load reads; the default file is ~20 KiB.
const maxFileSize = 1 << 20

// Vocabularies. Changing a value breaks catalogues that use it; adding one
// does not.
var (
	executors = []string{
		"procurement", "land", "bond", "licence", "customs", "market_supervision",
		"drug_regulator", "finance_regulator", "civil_service", "tourism",
		"development_reform", "finance", "public_resource_trading", "environment",
	}
	actions = []string{
		"procurement", "land", "bond", "licence", "bidding", "concession",
		"customs_cert", "hiring", "funding", "market_entry", "key_supervision",
		"qualification", "certification", "financing", "office_holding",
	}
	targets = []string{"enterprise", "responsible_persons"}
)

// Executors returns the executing department types a measure may name.
func Executors() []string { return slices.Clone(executors) }

// Actions returns the check actions a measure may restrict.
func Actions() []string { return slices.Clone(actions) }

var (
	versionRE = regexp.MustCompile(`^[0-9]{4}\.[1-9][0-9]*$`)
	codeRE    = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
	domainRE  = regexp.MustCompile(`^[a-z][a-z_]{1,31}$`)
	memberRE  = regexp.MustCompile(`^[1-9][0-9]{5}$`)
)

// FieldError is one problem in a catalogue file. Kind is "catalogue",
// "domain", "measure" or "programme"; Code is the entry's code (or its
// position, "#3", when the code itself is missing).
type FieldError struct {
	Kind, Code, Field, Reason string
}

func (e *FieldError) Error() string {
	if e.Kind == "catalogue" {
		return fmt.Sprintf("catalogue: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("catalogue: %s %s: %s: %s", e.Kind, e.Code, e.Field, e.Reason)
}

type file struct {
	Version    string      `yaml:"version"`
	Source     string      `yaml:"source"`
	Domains    []Domain    `yaml:"domains"`
	Measures   []Measure   `yaml:"measures"`
	Programmes []Programme `yaml:"programmes"`
}

// Default returns the catalogue embedded in the binary (default.yaml).
func Default() (*Catalogue, error) {
	c, err := Load(bytes.NewReader(defaultFile))
	if err != nil {
		return nil, fmt.Errorf("catalogue: embedded default.yaml: %w", err)
	}
	return c, nil
}

// DefaultFile returns a copy of the embedded default.yaml.
func DefaultFile() []byte { return bytes.Clone(defaultFile) }

// Load reads and validates a catalogue file: UTF-8 YAML, LF line endings,
// no BOM, at most 1 MiB, one document, unknown keys rejected. Its keys:
//
//	version: "2026.1"          # YYYY.N
//	source: <text>             # provenance of the whole file
//	domains:    [{code, name: {zh, en}}]
//	measures:   [{code, domain, text: {zh, en}, memorandum: {number, title},
//	              item, legal_basis: [{law, article}], executor, actions: [...],
//	              force, scope, applies_to: [...], source}]
//	programmes: [{code, domain, name: {zh, en}, lead_member, publicity_months,
//	              repair: {early_allowed, min_months, decided_by, requires_authority},
//	              objection: {mark, correct_or_forward, provider_answer, decide, decide_extended},
//	              feedback_workdays, red, source}]
//
// Versioning: the version names the content; any change to the bytes needs
// a new version, and the same version with a different digest is a
// different (and suspect) catalogue. A key added to this schema needs a new
// release of this package before files may use it.
//
// Every problem found is reported, joined, as *FieldError values.
func Load(r io.Reader) (*Catalogue, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("catalogue: read: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, &FieldError{Kind: "catalogue", Field: "file", Reason: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, &FieldError{Kind: "catalogue", Field: "file", Reason: "starts with a byte-order mark; save as UTF-8 without BOM"}
	}
	if i := bytes.IndexByte(data, '\r'); i >= 0 {
		return nil, &FieldError{Kind: "catalogue", Field: "file", Reason: fmt.Sprintf("carriage return at byte %d; use LF line endings so the digest is canonical", i)}
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, &FieldError{Kind: "catalogue", Field: "file", Reason: "not a valid catalogue document: " + err.Error()}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, &FieldError{Kind: "catalogue", Field: "file", Reason: "more than one YAML document"}
	}
	if errs := validate(&f); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sum := sha256.Sum256(data)
	c := &Catalogue{
		version: f.Version, digest: hex.EncodeToString(sum[:]), source: f.Source,
		domains: f.Domains, measures: f.Measures, programmes: f.Programmes,
		byCode: map[string]int{}, progByCode: map[string]int{},
	}
	for i := range c.programmes {
		applyDefaults(&c.programmes[i])
		c.progByCode[c.programmes[i].Code] = i
	}
	for i, m := range c.measures {
		c.byCode[m.Code] = i
	}
	return c, nil
}

func applyDefaults(p *Programme) {
	o := &p.Objection
	for _, f := range []struct {
		v   *int
		def int
	}{{&o.Mark, DefaultMark}, {&o.CorrectOrForward, DefaultCorrectOrForward}, {&o.ProviderAnswer, DefaultProviderAnswer},
		{&o.Decide, DefaultDecide}, {&o.DecideExtended, DefaultDecideExtended}, {&p.FeedbackWorkdays, DefaultFeedback}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
}

func validate(f *file) []error {
	var errs []error
	add := func(kind, code, field, format string, args ...any) {
		errs = append(errs, &FieldError{Kind: kind, Code: code, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !versionRE.MatchString(f.Version) {
		add("catalogue", "", "version", "%q is not YYYY.N (e.g. \"2026.1\")", f.Version)
	}
	if strings.TrimSpace(f.Source) == "" {
		add("catalogue", "", "source", "required")
	}
	if len(f.Domains) == 0 {
		add("catalogue", "", "domains", "at least one domain is required")
	}
	domains := map[string]bool{}
	for i, d := range f.Domains {
		id := label(d.Code, i)
		switch {
		case !domainRE.MatchString(d.Code):
			add("domain", id, "code", "%q is not a lower-case identifier", d.Code)
		case domains[d.Code]:
			add("domain", id, "code", "declared twice")
		}
		domains[d.Code] = true
		checkText(add, "domain", id, "name", d.Name)
	}
	known := func(kind, id, field, v string) {
		if !domains[v] {
			add(kind, id, field, "%q is not a declared domain (declared: %s)", v, strings.Join(slices.Sorted(maps.Keys(domains)), ", "))
		}
	}

	if len(f.Measures) == 0 {
		add("catalogue", "", "measures", "at least one measure is required")
	}
	seen := map[string]bool{}
	for i, m := range f.Measures {
		id := label(m.Code, i)
		switch {
		case !codeRE.MatchString(m.Code):
			add("measure", id, "code", "%q is not like ENV-01", m.Code)
		case seen[m.Code]:
			add("measure", id, "code", "used by more than one measure")
		}
		seen[m.Code] = true
		known("measure", id, "domain", m.Domain)
		checkText(add, "measure", id, "text", m.Text)
		if strings.TrimSpace(m.Memorandum.Title) == "" {
			add("measure", id, "memorandum.title", "required")
		}
		if strings.TrimSpace(m.Item) == "" {
			add("measure", id, "item", "required")
		}
		for j, lb := range m.LegalBasis {
			if strings.TrimSpace(lb.Law) == "" || strings.TrimSpace(lb.Article) == "" {
				add("measure", id, fmt.Sprintf("legal_basis[%d]", j), "law and article are both required")
			}
		}
		if !slices.Contains(executors, m.Executor) {
			add("measure", id, "executor", "%q is not one of %s", m.Executor, strings.Join(executors, ", "))
		}
		if len(m.Actions) == 0 {
			add("measure", id, "actions", "at least one action is required")
		}
		for _, a := range m.Actions {
			if !slices.Contains(actions, a) {
				add("measure", id, "actions", "%q is not one of %s", a, strings.Join(actions, ", "))
			}
		}
		if hasDup(m.Actions) {
			add("measure", id, "actions", "lists an action twice")
		}
		if m.Force != "mandatory" && m.Force != "recommended" {
			add("measure", id, "force", "%q is not mandatory or recommended", m.Force)
		}
		if m.Scope != "general" && m.Scope != "special" {
			add("measure", id, "scope", "%q is not general or special", m.Scope)
		}
		if len(m.AppliesTo) == 0 {
			add("measure", id, "applies_to", "at least one of enterprise, responsible_persons is required")
		}
		for _, t := range m.AppliesTo {
			if !slices.Contains(targets, t) {
				add("measure", id, "applies_to", "%q is not enterprise or responsible_persons", t)
			}
		}
		if hasDup(m.AppliesTo) {
			add("measure", id, "applies_to", "lists a target twice")
		}
		if slices.Contains(m.AppliesTo, "responsible_persons") && len(m.LegalBasis) == 0 {
			add("measure", id, "legal_basis", "required because applies_to includes responsible_persons (measures against natural persons need an explicit legal basis)")
		}
		if strings.TrimSpace(m.Source) == "" {
			add("measure", id, "source", "required")
		}
	}

	seen = map[string]bool{}
	for i, p := range f.Programmes {
		id := label(p.Code, i)
		switch {
		case !codeRE.MatchString(p.Code):
			add("programme", id, "code", "%q is not like ZJ-ENV-SEVERE", p.Code)
		case seen[p.Code]:
			add("programme", id, "code", "used by more than one programme")
		}
		seen[p.Code] = true
		known("programme", id, "domain", p.Domain)
		checkText(add, "programme", id, "name", p.Name)
		if !memberRE.MatchString(p.LeadMember) {
			add("programme", id, "lead_member", "%q is not a 6-digit division code", p.LeadMember)
		}
		if p.PublicityMonths <= 0 || p.PublicityMonths > 600 {
			add("programme", id, "publicity_months", "%d is not in 1-600", p.PublicityMonths)
		}
		r := p.Repair
		switch {
		case r.EarlyAllowed && (r.MinMonths <= 0 || r.MinMonths > p.PublicityMonths):
			add("programme", id, "repair.min_months", "%d must be in 1-%d (publicity_months) when early repair is allowed", r.MinMonths, p.PublicityMonths)
		case !r.EarlyAllowed && r.MinMonths != 0:
			add("programme", id, "repair.min_months", "must be 0 when early repair is not allowed")
		}
		if r.DecidedBy != "listing_authority" {
			add("programme", id, "repair.decided_by", "%q: only listing_authority is supported", r.DecidedBy)
		}
		if r.RequiresAuthority != "" {
			known("programme", id, "repair.requires_authority", r.RequiresAuthority)
		}
		o := p.Objection
		for _, d := range []struct {
			name string
			v    int
		}{{"mark", o.Mark}, {"correct_or_forward", o.CorrectOrForward}, {"provider_answer", o.ProviderAnswer},
			{"decide", o.Decide}, {"decide_extended", o.DecideExtended}} {
			if d.v < 0 || d.v > 60 {
				add("programme", id, "objection."+d.name, "%d working days is not in 0-60 (0 = default)", d.v)
			}
		}
		dec, ext := cmp.Or(o.Decide, DefaultDecide), cmp.Or(o.DecideExtended, DefaultDecideExtended)
		if ext < dec {
			add("programme", id, "objection.decide_extended", "%d is shorter than decide (%d)", ext, dec)
		}
		if p.FeedbackWorkdays < 0 || p.FeedbackWorkdays > 60 {
			add("programme", id, "feedback_workdays", "%d is not in 0-60 (0 = default)", p.FeedbackWorkdays)
		}
		if strings.TrimSpace(p.Source) == "" {
			add("programme", id, "source", "required")
		}
	}
	return errs
}

func checkText(add func(kind, code, field, format string, args ...any), kind, id, field string, t Text) {
	if strings.TrimSpace(t.ZH) == "" {
		add(kind, id, field+".zh", "required")
	}
	if strings.TrimSpace(t.EN) == "" {
		add(kind, id, field+".en", "required")
	}
}

func label(code string, i int) string {
	if code == "" {
		return fmt.Sprintf("#%d", i+1)
	}
	return code
}

func hasDup(s []string) bool {
	c := slices.Clone(s)
	slices.Sort(c)
	return len(slices.Compact(c)) != len(s)
}
