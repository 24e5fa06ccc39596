package sanctions

import (
	"fmt"
	"time"

	"github.com/creditx/creditx/schemas"
)

// Admissibility of a listing (issue 12: no silent failures).
//
// A listing that can yield no joint punishment as filed must be refused
// when it is submitted, not accepted and then ignored. Admissible names
// each such problem with the record field it concerns. It reads the
// catalogue and the clock value passed in only: no agency directory, so
// that what depends on a receiving member (its executing agencies) is
// decided there (NotApplied).

// FieldProblem is one reason a listing cannot take effect, on one field.
type FieldProblem struct {
	Field   string // JSON path in the record, e.g. "programme.code"
	Rule    string // short rule name
	Message string
}

// maxClockSkew is how far in the future a created_at may lie.
const maxClockSkew = 5 * time.Minute

// Admissible lists the problems that prevent listing l from ever yielding
// joint punishment, judged at instant now: an unknown programme; a domain
// that is not the programme's; dates that make no sense (created_at in the
// future, listed_on after today or before the decision, publicity_end
// before listed_on, beyond the programme's publicity_months, or already
// past); no measure of the catalogue that applies to the subject's type.
// A red-list programme issues no measures by design and is admissible.
func (e *Engine) Admissible(l *schemas.Listing, now time.Time) []FieldProblem {
	var out []FieldProblem
	add := func(field, rule, format string, args ...any) {
		out = append(out, FieldProblem{field, rule, fmt.Sprintf(format, args...)})
	}
	today := dateIn(now)
	if !l.CreatedAt.IsZero() && l.CreatedAt.After(now.Add(maxClockSkew)) {
		add("created_at", "future", "%s is in the future (now %s)", l.CreatedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !l.ListedOn.IsZero() && l.ListedOn.After(today.Time) {
		add("listed_on", "future", "%s is after today %s", l.ListedOn, today)
	}
	if !l.ListedOn.IsZero() && !l.Decision.Date.IsZero() && l.ListedOn.Before(l.Decision.Date.Time) {
		add("listed_on", "before_decision", "%s is before the decision %s of %s", l.ListedOn, l.Decision.DocNo, l.Decision.Date)
	}
	prog, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
	if !ok {
		add("programme.code", "programme", "programme %q is not in the measures catalogue %s: the listing would reach no measure", l.Programme.Code, e.cfg.Catalogue.Version())
		return out
	}
	if prog.Domain != l.Domain {
		add("domain", "programme_domain", "domain %q is not the domain %q of programme %s", l.Domain, prog.Domain, prog.Code)
	}
	if !l.ListedOn.IsZero() && !l.PublicityEnd.IsZero() {
		maxEnd := l.ListedOn.AddDate(0, prog.PublicityMonths, 0)
		switch {
		case l.PublicityEnd.After(maxEnd):
			add("publicity_end", "publicity_max", "%s is beyond the %d months programme %s allows from listed_on %s (at most %s)",
				l.PublicityEnd, prog.PublicityMonths, prog.Code, l.ListedOn, schemas.NewDate(maxEnd.Year(), maxEnd.Month(), maxEnd.Day()))
		case l.PublicityEnd.Before(today.Time):
			add("publicity_end", "expired", "%s is already past (today %s): the listing would restrict nothing", l.PublicityEnd, today)
		}
	}
	if prog.Red || prog.Domain != l.Domain {
		return out
	}
	for _, m := range e.byDomain[l.Domain] {
		if len(targetsOf(l, m)) > 0 {
			return out
		}
	}
	add("subject.type", "no_measure", "no measure of domain %q in catalogue %s applies to a subject of type %q", l.Domain, e.cfg.Catalogue.Version(), l.Subject.Type)
	return out
}

// NotApplied says why this member's engine can issue no notice for listing
// l (its own or mirrored), or "" if it can or if no notice is owed by
// design (a red list). It depends only on the catalogue and the agency
// directory, never on time, so every replica decides alike: a programme
// this member's catalogue does not know, a domain that is not the
// programme's, no measure of the domain reaching the subject's type, or no
// executing agency of this member for any measure that would.
func (e *Engine) NotApplied(l *schemas.Listing) string {
	if reason := e.CatalogueNotApplied(l); reason != "" {
		return reason
	}
	// CatalogueNotApplied vouched for the programme, its domain and a
	// measure reaching the subject: what is left is this member's agencies.
	if prog, _ := e.cfg.Catalogue.Programme(l.Programme.Code); prog.Red {
		return ""
	}
	for _, m := range e.byDomain[l.Domain] {
		if len(targetsOf(l, m)) > 0 && len(e.cfg.Agencies.ForDept(m.Executor)) > 0 {
			return ""
		}
	}
	return fmt.Sprintf("no executing agency of %s for any measure of domain %s that applies to the subject", e.cfg.Region, l.Domain)
}

// CatalogueNotApplied is the part of NotApplied that depends on the
// catalogue only (not on this member's agencies): what no member with the
// same catalogue can apply.
func (e *Engine) CatalogueNotApplied(l *schemas.Listing) string {
	prog, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
	switch {
	case !ok:
		return fmt.Sprintf("programme %s is not in the measures catalogue %s", l.Programme.Code, e.cfg.Catalogue.Version())
	case prog.Domain != l.Domain:
		return fmt.Sprintf("domain %s is not the domain %s of programme %s", l.Domain, prog.Domain, prog.Code)
	case prog.Red:
		return ""
	}
	for _, m := range e.byDomain[l.Domain] {
		if len(targetsOf(l, m)) > 0 {
			return ""
		}
	}
	return fmt.Sprintf("no measure of domain %s in catalogue %s applies to a subject of type %s", l.Domain, e.cfg.Catalogue.Version(), l.Subject.Type)
}
