// Package catalogue holds the versioned measures catalogue: which joint
// punishment measures (联合惩戒措施) exist for each domain, who executes them,
// what approvals they restrict, and the period rules of each list programme
// (publicity period, early repair, objection and feedback deadlines).
//
// Guarantees:
//   - A Catalogue is only ever built from a file that passed every check in
//     Load; a file with any error yields no Catalogue, and the error lists
//     every problem found, each a *FieldError naming the measure or
//     programme code and the field.
//   - A Catalogue is identified by Version and Digest (SHA-256 of the exact
//     file bytes). Load accepts only LF line endings and no byte-order mark,
//     so the file bytes are canonical: `sha256sum default.yaml` equals
//     Digest(), and a governance record that adopts "version + digest"
//     pins one exact text.
//   - A Catalogue never changes after construction; accessors return copies,
//     and it is safe for concurrent use.
//
// The embedded default.yaml is a seed drawn from public summaries of the
// national memoranda, not from their full texts; offices are expected to
// replace or extend it, publishing a new version.
package catalogue

import (
	"slices"
)

// Text is a bilingual string.
type Text struct {
	ZH string `yaml:"zh"`
	EN string `yaml:"en"`
}

// LegalBasis cites one provision.
type LegalBasis struct {
	Law     string `yaml:"law"`     // e.g. 《中华人民共和国食品安全法》
	Article string `yaml:"article"` // e.g. 第一百三十五条
}

// Memorandum identifies the joint-punishment memorandum a measure comes from.
type Memorandum struct {
	Number string `yaml:"number"` // document number, e.g. 发改财金〔2016〕1580号; empty if not confirmed
	Title  string `yaml:"title"`
}

// Measure is one catalogue entry.
type Measure struct {
	Code       string       `yaml:"code"`   // unique, e.g. ENV-01
	Domain     string       `yaml:"domain"` // a declared domain code
	Text       Text         `yaml:"text"`
	Memorandum Memorandum   `yaml:"memorandum"`
	Item       string       `yaml:"item"` // item number within the memorandum
	LegalBasis []LegalBasis `yaml:"legal_basis"`
	Executor   string       `yaml:"executor"`   // executing department type, see Executors
	Actions    []string     `yaml:"actions"`    // checks it restricts, see Actions
	Force      string       `yaml:"force"`      // mandatory | recommended
	Scope      string       `yaml:"scope"`      // general | special
	AppliesTo  []string     `yaml:"applies_to"` // enterprise and/or responsible_persons
	Source     string       `yaml:"source"`     // where this entry was taken from
}

// Repair is a programme's credit-repair rule.
type Repair struct {
	// EarlyAllowed says whether a subject may apply to leave the list
	// before the publicity period ends.
	EarlyAllowed bool `yaml:"early_allowed"`
	// MinMonths is the time from disclosure before an early application is
	// accepted; 0 when EarlyAllowed is false.
	MinMonths int `yaml:"min_months"`
	// DecidedBy is who decides a repair: listing_authority.
	DecidedBy string `yaml:"decided_by"`
	// RequiresAuthority, if set, is the domain whose authority must agree
	// (environmental repair cannot bypass the environment authority).
	RequiresAuthority string `yaml:"requires_authority"`
}

// Objection holds objection deadlines in working days (see package
// sanctions/workdays for how they are counted). Zero means the default.
type Objection struct {
	Mark             int `yaml:"mark"`               // default 1
	CorrectOrForward int `yaml:"correct_or_forward"` // default 2
	ProviderAnswer   int `yaml:"provider_answer"`    // default 5
	Decide           int `yaml:"decide"`             // default 5
	DecideExtended   int `yaml:"decide_extended"`    // default 20; >= Decide
}

// Default objection and feedback deadlines, in working days (DOMAIN.md 4).
const (
	DefaultMark             = 1
	DefaultCorrectOrForward = 2
	DefaultProviderAnswer   = 5
	DefaultDecide           = 5
	DefaultDecideExtended   = 20
	DefaultFeedback         = 10
)

// Programme is a list programme and its period rules.
type Programme struct {
	Code            string    `yaml:"code"` // unique, e.g. ZJ-ENV-SEVERE
	Domain          string    `yaml:"domain"`
	Name            Text      `yaml:"name"`
	LeadMember      string    `yaml:"lead_member"`      // division code of the lead member
	PublicityMonths int       `yaml:"publicity_months"` // > 0
	Repair          Repair    `yaml:"repair"`
	Objection       Objection `yaml:"objection"`
	// FeedbackWorkdays is the deadline for executing agencies to report
	// back on a sanction notice; 0 in the file means DefaultFeedback.
	FeedbackWorkdays int `yaml:"feedback_workdays"`
	// Red marks a red list (守信红名单, a list of trustworthy subjects):
	// its listings carry no measures and never restrict, and a subject on
	// a red list and a black list at once is a conflict to report. Absent
	// in the file means false (a black list).
	Red    bool   `yaml:"red"`
	Source string `yaml:"source"`
}

// Domain is a declared domain.
type Domain struct {
	Code string `yaml:"code"` // lower-case, e.g. food_drug
	Name Text   `yaml:"name"`
}

// Catalogue is a validated, immutable measures catalogue.
type Catalogue struct {
	version    string
	digest     string
	source     string
	domains    []Domain
	measures   []Measure
	programmes []Programme
	byCode     map[string]int // measure code -> index
	progByCode map[string]int
}

// Version returns the catalogue version, e.g. "2026.1".
func (c *Catalogue) Version() string { return c.version }

// Digest returns the lower-case hex SHA-256 of the file bytes.
func (c *Catalogue) Digest() string { return c.digest }

// Source returns the catalogue's source note.
func (c *Catalogue) Source() string { return c.source }

// Domains returns the declared domains in file order.
func (c *Catalogue) Domains() []Domain { return slices.Clone(c.domains) }

// Measure returns the measure with the given code.
func (c *Catalogue) Measure(code string) (Measure, bool) {
	i, ok := c.byCode[code]
	if !ok {
		return Measure{}, false
	}
	return cloneMeasure(c.measures[i]), true
}

// Programme returns the programme with the given code.
func (c *Catalogue) Programme(code string) (Programme, bool) {
	i, ok := c.progByCode[code]
	if !ok {
		return Programme{}, false
	}
	return c.programmes[i], true
}

// Measures returns all measures in file order.
func (c *Catalogue) Measures() []Measure { return c.filter(func(Measure) bool { return true }) }

// Programmes returns all programmes in file order.
func (c *Catalogue) Programmes() []Programme { return slices.Clone(c.programmes) }

// MeasuresFor returns, in file order, the measures of domain that apply to
// appliesTo ("enterprise" or "responsible_persons"; "" for all). An unknown
// domain or target gives an empty result.
func (c *Catalogue) MeasuresFor(domain, appliesTo string) []Measure {
	return c.filter(func(m Measure) bool {
		return m.Domain == domain && (appliesTo == "" || slices.Contains(m.AppliesTo, appliesTo))
	})
}

// MeasuresForAction returns, in file order, the measures of every domain
// that restrict action (e.g. "procurement"): what an executing agency's
// pre-approval check must consult.
func (c *Catalogue) MeasuresForAction(action string) []Measure {
	return c.filter(func(m Measure) bool { return slices.Contains(m.Actions, action) })
}

func (c *Catalogue) filter(keep func(Measure) bool) []Measure {
	var out []Measure
	for _, m := range c.measures {
		if keep(m) {
			out = append(out, cloneMeasure(m))
		}
	}
	return out
}

func cloneMeasure(m Measure) Measure {
	m.LegalBasis = slices.Clone(m.LegalBasis)
	m.Actions = slices.Clone(m.Actions)
	m.AppliesTo = slices.Clone(m.AppliesTo)
	return m
}
