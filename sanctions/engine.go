package sanctions

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// ErrUnknownProgramme is returned (wrapped) by NoticesFor when a listing's
// programme is not in the engine's catalogue. The caller indexes the
// listing without notices and reports it; a later catalogue version may
// recognise the programme.
var ErrUnknownProgramme = errors.New("sanctions: programme not in the measures catalogue")

// chinaZone is UTC+8, the zone in which instants become calendar dates for
// every deadline and period (DOMAIN.md 4). A fixed offset, not tzdata, so
// that every replica computes the same dates.
var chinaZone = time.FixedZone("CST", 8*3600)

// Config configures an Engine. Every field is required unless noted.
type Config struct {
	// Catalogue is the measures catalogue in force; every notice cites
	// its version.
	Catalogue *catalogue.Catalogue
	// Calendar counts working days for feedback and objection deadlines.
	Calendar *workdays.Calendar
	// Agencies is the directory of this member's executing agencies. Its
	// region must equal Region.
	Agencies *Agencies
	// Region is the division code of this member (the ledger the notices
	// are written to), e.g. "330000".
	Region string
	// Issuer is the USCC of the credit office that issues notices: the
	// Submitter of every notice's header.
	Issuer string
	// Validator checks every notice before it is returned; nil means the
	// schemas package's default validator.
	Validator *schemas.Validator
	// SuspendMeasuresOnObjection, if true, makes a listing with a pending
	// objection stop restricting until the objection is decided. The zero
	// value keeps measures in force and suspends disclosure only: an
	// objection does not suspend the legally effective decision the listing
	// rests on.
	SuspendMeasuresOnObjection bool
}

// Engine applies the joint-punishment rules. It holds no mutable state, reads
// no clock (every time is an argument) and is safe for concurrent use.
type Engine struct {
	cfg Config
	// Built by NewEngine from cfg.Catalogue, read-only afterwards.
	byDomain    map[string][]catalogue.Measure // domain -> measures, catalogue order
	restricting map[restrictKey][]schemas.Measure
	actions     map[string]bool // catalogue.Actions()
}

// restrictKey selects the measures a check consults.
type restrictKey struct{ domain, role, action string }

// NewEngine checks cfg and returns an Engine. It fails if a required field
// is missing, if Region or Issuer is malformed, or if the agency directory
// belongs to another region.
func NewEngine(cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Catalogue == nil {
		errs = append(errs, errors.New("sanctions: Config.Catalogue is required"))
	}
	if cfg.Calendar == nil {
		errs = append(errs, errors.New("sanctions: Config.Calendar is required"))
	}
	if err := schemas.CheckDivision(cfg.Region); err != nil {
		errs = append(errs, fmt.Errorf("sanctions: Config.Region: %w", err))
	}
	if err := schemas.CheckUSCC(cfg.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("sanctions: Config.Issuer: %w", err))
	}
	switch {
	case cfg.Agencies == nil:
		errs = append(errs, errors.New("sanctions: Config.Agencies is required"))
	case cfg.Agencies.Region() != cfg.Region:
		errs = append(errs, fmt.Errorf("sanctions: Config.Agencies is the directory of %s, not of Config.Region %s", cfg.Agencies.Region(), cfg.Region))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e := &Engine{cfg: cfg, byDomain: map[string][]catalogue.Measure{}, restricting: map[restrictKey][]schemas.Measure{}, actions: map[string]bool{}}
	for _, a := range catalogue.Actions() {
		e.actions[a] = true
	}
	version := cfg.Catalogue.Version()
	for _, m := range cfg.Catalogue.Measures() {
		e.byDomain[m.Domain] = append(e.byDomain[m.Domain], m)
		for _, role := range m.AppliesTo {
			if role == RoleResponsiblePerson && len(m.LegalBasis) == 0 {
				continue // never against natural persons without a legal basis
			}
			for _, a := range m.Actions {
				k := restrictKey{m.Domain, role, a}
				e.restricting[k] = append(e.restricting[k], noticeMeasure(m, version))
			}
		}
	}
	return e, nil
}

// Catalogue returns the engine's measures catalogue.
func (e *Engine) Catalogue() *catalogue.Catalogue { return e.cfg.Catalogue }

// NoticesFor returns the sanction notices this member issues for a listing
// (its own or mirrored) stored at ref, issued at issuedAt:
//
//   - one notice per (measure of the listing's domain in the catalogue) x
//     (agency of the measure's executing department type in this region)
//     x (target);
//   - targets: the listed organisation (by USCC) if the measure applies to
//     enterprises; each responsible person, or the listed natural person,
//     (by id_hash) if it applies to responsible persons and the measure
//     has an explicit legal basis. No notice ever targets a natural person
//     under a measure without a legal basis;
//   - start = listed_on, end = publicity_end, feedback_due = the
//     programme's feedback deadline in working days (agency's regional
//     calendar) after the later of the issue date (UTC+8) and listed_on;
//   - the measure cites the catalogue version, memorandum (number, or title
//     when the number is not confirmed) and item.
//
// Order is deterministic: catalogue order of measures, then directory order
// of agencies, then the organisation before its responsible persons in
// listing order. A red-list programme, or a listing whose publicity period
// ended before the issue date, gets no notices (nil, nil).
//
// It fails, returning no notices, if the listing is invalid, its programme
// is unknown (ErrUnknownProgramme) or of another domain, the deadline's start
// falls before the calendar's first year (*workdays.UnknownYearError), or a
// notice would fail validation. A deadline past the calendar's last year is
// counted on weekends only and marked feedback_due_provisional.
func (e *Engine) NoticesFor(l *schemas.Listing, ref schemas.Ref, issuedAt time.Time) ([]*schemas.SanctionNotice, error) {
	if l == nil {
		return nil, errors.New("sanctions: NoticesFor: no listing")
	}
	if err := e.validate(l); err != nil {
		return nil, fmt.Errorf("sanctions: NoticesFor: invalid listing: %w", err)
	}
	if err := checkRef(ref); err != nil {
		return nil, fmt.Errorf("sanctions: NoticesFor: listing ref: %w", err)
	}
	prog, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
	if !ok {
		return nil, fmt.Errorf("sanctions: NoticesFor: programme %q (catalogue %s): %w", l.Programme.Code, e.cfg.Catalogue.Version(), ErrUnknownProgramme)
	}
	if prog.Domain != l.Domain {
		return nil, fmt.Errorf("sanctions: NoticesFor: listing domain %q does not match programme %s of domain %q", l.Domain, prog.Code, prog.Domain)
	}
	issueDay := dateIn(issuedAt)
	if prog.Red || issueDay.After(l.PublicityEnd.Time) {
		return nil, nil
	}
	from := workdays.DateOf(l.ListedOn.Time)
	if d := workdays.DateOf(issueDay.Time); d.After(from) {
		from = d
	}
	type dueDate struct {
		date        schemas.Date
		provisional bool
	}
	dueByRegion := map[string]dueDate{}
	var out []*schemas.SanctionNotice
	for _, m := range e.byDomain[l.Domain] {
		targets := targetsOf(l, m)
		if len(targets) == 0 {
			continue
		}
		sm := noticeMeasure(m, e.cfg.Catalogue.Version())
		for _, a := range e.cfg.Agencies.ForDept(m.Executor) {
			due, ok := dueByRegion[a.Region]
			if !ok {
				// Never fails for lack of a calendar year: past the last
				// covered year the deadline is provisional (deadline.go).
				d, prov, err := e.cfg.Calendar.AddWorkdaysProvisional(from, prog.FeedbackWorkdays, a.Region)
				if err != nil {
					return nil, fmt.Errorf("sanctions: NoticesFor: feedback deadline for %s: %w", a.Region, err)
				}
				due = dueDate{toSchemaDate(d), prov}
				dueByRegion[a.Region] = due
			}
			for _, t := range targets {
				n := &schemas.SanctionNotice{
					Header:          schemas.Header{Region: e.cfg.Region, Submitter: e.cfg.Issuer, CreatedAt: schemas.NewTime(issuedAt)},
					Listing:         ref,
					Measure:         sm,
					ExecutingAgency: schemas.ExecutingAgency{Name: a.Name, USCC: a.USCC, DeptType: a.DeptType},
					Target:          t,
					Start:           l.ListedOn,
					End:             l.PublicityEnd,
					FeedbackDue:     due.date,

					FeedbackDueProvisional: due.provisional,
				}
				n.Measure.AppliesTo = slices.Clone(sm.AppliesTo)
				if err := e.validate(n); err != nil {
					return nil, fmt.Errorf("sanctions: NoticesFor: notice %s for %s: %w", m.Code, a.USCC, err)
				}
				out = append(out, n)
			}
		}
	}
	return out, nil
}

func (e *Engine) validate(r schemas.Record) error {
	if e.cfg.Validator != nil {
		return e.cfg.Validator.Validate(r)
	}
	return schemas.Validate(r, nil)
}

// targetsOf returns whom measure m reaches in listing l, organisation first.
func targetsOf(l *schemas.Listing, m catalogue.Measure) []schemas.Target {
	var out []schemas.Target
	s := l.Subject
	if s.Type != schemas.SubjectNaturalPerson && slices.Contains(m.AppliesTo, "enterprise") {
		out = append(out, schemas.Target{Kind: "enterprise", USCC: s.USCC})
	}
	// Measures against natural persons only with an explicit legal basis
	// (DOMAIN.md 7); Load refuses such catalogue entries, this is the
	// second line of defence.
	if !slices.Contains(m.AppliesTo, "responsible_persons") || len(m.LegalBasis) == 0 {
		return out
	}
	for _, h := range personKeys(l) {
		out = append(out, schemas.Target{Kind: "responsible_person", IDHash: h})
	}
	return out
}

// personKeys returns the id_hashes of the natural persons a listing names:
// the listed person, or the responsible persons in listing order, without
// duplicates.
func personKeys(l *schemas.Listing) []string {
	var out []string
	if p := l.Subject.Person; p != nil && l.Subject.Type == schemas.SubjectNaturalPerson {
		return []string{p.IDHash}
	}
	for _, rp := range l.Subject.ResponsiblePersons {
		if !slices.Contains(out, rp.Person.IDHash) {
			out = append(out, rp.Person.IDHash)
		}
	}
	return out
}

// noticeMeasure is the record form of a catalogue measure.
func noticeMeasure(m catalogue.Measure, version string) schemas.Measure {
	memo := m.Memorandum.Number
	if memo == "" {
		memo = m.Memorandum.Title
	}
	var basis []string
	for _, b := range m.LegalBasis {
		basis = append(basis, b.Law+b.Article)
	}
	return schemas.Measure{
		Code:             m.Code,
		CatalogueVersion: version,
		Memorandum:       memo,
		Item:             m.Item,
		Text:             m.Text.ZH,
		LegalBasis:       strings.Join(basis, "；"),
		Mandatory:        m.Force == "mandatory",
		Scope:            m.Scope,
		AppliesTo:        m.AppliesTo,
	}
}

// dateIn returns the calendar date of t in UTC+8.
func dateIn(t time.Time) schemas.Date {
	y, m, d := t.In(chinaZone).Date()
	return schemas.NewDate(y, m, d)
}

func toSchemaDate(d workdays.Date) schemas.Date { return schemas.NewDate(d.Year(), d.Month(), d.Day()) }

func toWorkDate(d schemas.Date) workdays.Date { return workdays.DateOf(d.Time) }

// checkRef checks the parts of a Ref that this package relies on: an
// origin and a 64-character lower-case hex leaf hash.
func checkRef(r schemas.Ref) error {
	if r.Origin == "" {
		return errors.New("origin is empty")
	}
	if len(r.Hash) != 64 || strings.Trim(r.Hash, "0123456789abcdef") != "" {
		return fmt.Errorf("hash %q is not 64 lower-case hex characters", r.Hash)
	}
	return nil
}

// CalendarYear converts the parameters of a calendar_adopt governance
// record to the year workdays.Calendar.Extend takes. A zero date stays
// zero, so that Extend names the missing field. Node admission, the FSM and
// the audit all convert with it, so they judge an adoption alike.
func CalendarYear(a *schemas.CalendarAdopt) workdays.Year {
	conv := func(d schemas.Date) workdays.Date {
		if d.IsZero() {
			return workdays.Date{}
		}
		return toWorkDate(d)
	}
	y := workdays.Year{Year: int(a.Year), Notice: a.Notice, Title: a.Title, Published: conv(a.Published), URL: a.URL}
	for _, h := range a.Holidays {
		y.Holidays = append(y.Holidays, workdays.Span{ZH: h.ZH, EN: h.EN, From: conv(h.From), To: conv(h.To)})
	}
	for _, w := range a.Workdays {
		y.Workdays = append(y.Workdays, workdays.Adjusted{Date: conv(w.Date), For: w.For})
	}
	return y
}

// CalendarAdoptOf is the inverse of CalendarYear: the calendar_adopt
// parameters of year y.
func CalendarAdoptOf(y workdays.Year) *schemas.CalendarAdopt {
	a := &schemas.CalendarAdopt{Year: uint64(y.Year), Notice: y.Notice, Title: y.Title, Published: toSchemaDate(y.Published), URL: y.URL}
	for _, h := range y.Holidays {
		a.Holidays = append(a.Holidays, schemas.CalendarHoliday{ZH: h.ZH, EN: h.EN, From: toSchemaDate(h.From), To: toSchemaDate(h.To)})
	}
	for _, w := range y.Workdays {
		a.Workdays = append(a.Workdays, schemas.CalendarWorkday{Date: toSchemaDate(w.Date), For: w.For})
	}
	return a
}
