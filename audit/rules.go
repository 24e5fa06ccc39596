package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Rules with numbers (DOMAIN.md 4; issue 12), as the records show them.
//
// Working days are counted with Options.Calendar extended by every
// calendar_adopt governance record found in the audited ledgers (the
// calendar as data, in year order; a year that does not extend the calendar
// is ignored and reported in Calendar). Past the last covered year days
// count on weekends only and the result is marked provisional.
type Rules struct {
	// Publication: a listing is published within PublicationWorkdays
	// working days of its decision (双公示), counted from decision.date to
	// the listing's created_at (UTC+8).
	PublicationWorkdays  int       `json:"publication_workdays"`
	Published            int       `json:"listings"`
	PublishedInTime      int       `json:"published_in_time"`
	PublishedLate        []Finding `json:"published_late"`
	PublishedProvisional int       `json:"published_provisional"` // counted past the adopted calendar
	// Withdrawal: after a repair of type decision_revoked, the listing is
	// withdrawn (a correction withdraw or a repair removing it) within
	// WithdrawalWorkdays working days of the revocation (decision.date).
	WithdrawalWorkdays int       `json:"withdrawal_workdays"`
	Revoked            int       `json:"decisions_revoked"`
	WithdrawnInTime    int       `json:"withdrawn_in_time"`
	WithdrawnLate      []Finding `json:"withdrawn_late"`
	WithdrawalOverdue  []Finding `json:"withdrawal_overdue"`
	WithdrawalPending  int       `json:"withdrawal_pending"`
	// ProvisionalNotices counts sanction notices issued with a feedback
	// deadline past their issuer's calendar (feedback_due_provisional).
	ProvisionalNotices int `json:"provisional_notices"`
	// Calendar lists the calendar years adopted on the ledgers, and those
	// that could not be applied, with the entry that carries them.
	Calendar []Finding `json:"calendar_adopted"`
	// CatalogueAdopted lists every catalogue_adopt record, in ledger order;
	// CatalogueInForce names, per ledger with one, the catalogue its last
	// adoption put in force (catalogue.go).
	CatalogueAdopted []Finding `json:"catalogue_adopted"`
	CatalogueInForce []Finding `json:"catalogue_in_force"`
	// NotApplied names the listings no member can apply under the
	// catalogue, with the reason; per-member counts are in Members.
	NotApplied []Finding `json:"not_applied"`
	// Conflicts among the listings in force (conflicts.go).
	Conflicts []ConflictFinding `json:"conflicts"`
	// FeedbackChecked counts the feedback entries checked against the
	// owner table (owner.go); FeedbackUnbound names those not written by
	// the notice's addressee in the notice's ledger: each is also an
	// integrity failure, and none is counted as an answer.
	FeedbackChecked int       `json:"feedback_checked"`
	FeedbackUnbound []Finding `json:"feedback_unbound"`
}

// Defaults of DOMAIN.md 4.
const (
	PublicationWorkdays = 7
	WithdrawalWorkdays  = 3
)

type pubFact struct {
	key
	decided, created time.Time
	region           string
}

type revFact struct {
	key
	listing key
	revoked time.Time
}

// provFact is a notice issued with a provisional feedback deadline: the
// day counting started from and the deadline as issued.
type provFact struct {
	from, due workdays.Date
}

// recomputeProvisional sets the deadline of every notice issued with a
// provisional one to what the issuer computes once the year is adopted
// (internal/adopted/calendar.go): the same number of working days, counted under the
// embedded calendar base as the issuer did, now counted under ext, that
// calendar extended by the years adopted on the ledgers (fs.calendar).
// Notices whose deadline is still past the adopted years keep the issued
// date. Idempotent.
func (fs *factSet) recomputeProvisional(base, ext *workdays.Calendar) {
	if len(fs.provDue) == 0 || len(fs.calendars) == 0 {
		return
	}
	for k, p := range fs.provDue {
		n := fs.notices[k]
		if n == nil {
			continue
		}
		count, _, err := base.WorkdaysBetweenProvisional(p.from, p.due, "")
		if err != nil {
			continue
		}
		due, prov, err := ext.AddWorkdaysProvisional(p.from, count, "")
		if err != nil || prov {
			n.due = p.due.Time()
			continue
		}
		n.due = due.Time()
	}
}

type calFact struct {
	key
	adopt *schemas.CalendarAdopt
}

// addRuleFacts is fs.add's part for the rules (caller holds fs.mu).
func (fs *factSet) addRuleFacts(k key, r schemas.Record) {
	switch r := r.(type) {
	case *schemas.Listing:
		fs.pubs = append(fs.pubs, pubFact{k, r.Decision.Date.Time, r.CreatedAt.Time, fs.intern(r.Region)})
		if fs.slim == nil {
			fs.slim = map[key]*schemas.Listing{}
		}
		fs.slim[k] = slimListing(r)
	case *schemas.Repair:
		if r.Type == "decision_revoked" {
			fs.revokes = append(fs.revokes, revFact{k, refKey(fs.ref(r.Listing)), r.Decision.Date.Time})
		}
	case *schemas.SanctionNotice:
		if r.FeedbackDueProvisional {
			fs.provisional++
			from := day(r.CreatedAt.Time)
			if r.Start.After(from) {
				from = r.Start.Time
			}
			if fs.provDue == nil {
				fs.provDue = map[key]provFact{}
			}
			fs.provDue[k] = provFact{workdays.DateOf(from), workdays.DateOf(r.FeedbackDue.Time)}
		}
	case *schemas.Governance:
		fs.addMembershipFact(k, r) // membership.go
		if r.Action == schemas.ActionCalendarAdopt && r.CalendarAdopt != nil {
			fs.calendars = append(fs.calendars, calFact{k, r.CalendarAdopt})
		}
		if r.Action == schemas.ActionCatalogueAdopt && r.CatalogueAdopt != nil {
			fs.catalogues = append(fs.catalogues, catFact{k, r.CatalogueAdopt})
		}
	}
}

// calendar extends base by the adopted years, in year order, and says for
// each adoption whether it was applied (Rules.Calendar).
func (fs *factSet) calendar(base *workdays.Calendar) (*workdays.Calendar, []Finding) {
	cs := slices.Clone(fs.calendars)
	slices.SortFunc(cs, func(a, b calFact) int {
		return cmp.Or(cmp.Compare(a.adopt.Year, b.adopt.Year), cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index))
	})
	cal, out := base, []Finding{}
	for _, c := range cs {
		y := sanctions.CalendarYear(c.adopt)
		f := Finding{Origin: c.origin, Index: c.index}
		if ext, err := cal.Extend(y); err != nil {
			f.What = fmt.Sprintf("calendar %d (%s) not applied: %v", y.Year, y.Notice, err)
		} else {
			cal = ext
			f.What = fmt.Sprintf("calendar %d adopted (%s)", y.Year, y.Notice)
		}
		out = append(out, f)
	}
	return cal, out
}

// rules judges the numeric rules at today (a civil date, see day) under
// cal, the calendar with the adopted years (fs.calendar, which reported
// adopted), and finds the conflicts in force at instant at with eng.
func (fs *factSet) rules(cal *workdays.Calendar, adopted []Finding, eng *sanctions.Engine, at, today time.Time) Rules {
	r := Rules{PublicationWorkdays: PublicationWorkdays, WithdrawalWorkdays: WithdrawalWorkdays,
		PublishedLate: []Finding{}, WithdrawnLate: []Finding{}, WithdrawalOverdue: []Finding{}, Calendar: adopted, ProvisionalNotices: fs.provisional}
	wd := func(t time.Time) workdays.Date { d := day(t); return workdays.DateOf(d) }
	pubs := slices.Clone(fs.pubs)
	slices.SortFunc(pubs, func(a, b pubFact) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index)) })
	for _, p := range pubs {
		if p.decided.IsZero() || p.created.IsZero() {
			continue
		}
		r.Published++
		dec := workdays.DateOf(p.decided)
		n, prov, err := cal.WorkdaysBetweenProvisional(dec, wd(p.created), "")
		if err != nil {
			continue // before the calendar's first year: not judged
		}
		if prov {
			r.PublishedProvisional++
		}
		if n > PublicationWorkdays {
			r.PublishedLate = append(r.PublishedLate, Finding{p.origin, p.index,
				fmt.Sprintf("published %d working days after decision of %s (rule: %d)", n, dec, PublicationWorkdays)})
		} else {
			r.PublishedInTime++
		}
	}
	r.Conflicts = fs.conflicts(eng, at)
	r.CatalogueAdopted, r.CatalogueInForce = fs.catalogueFindings()
	r.FeedbackUnbound = []Finding{}
	for _, ev := range fs.owners.events {
		fb, ok := ev.rec.(*schemas.Feedback)
		if !ok {
			continue
		}
		r.FeedbackChecked++
		if fs.owners.unbound[ev.key] {
			r.FeedbackUnbound = append(r.FeedbackUnbound, Finding{ev.origin, ev.index,
				fmt.Sprintf("feedback by %s on notice %s#%d is not its addressee's in the notice's ledger: not counted", fb.Submitter, fb.Notice.Origin, fb.Notice.Index)})
		}
	}
	slices.SortFunc(r.FeedbackUnbound, func(a, b Finding) int { return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Index, b.Index)) })
	removed := fs.removedAt()
	revs := slices.Clone(fs.revokes)
	slices.SortFunc(revs, func(a, b revFact) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index)) })
	for _, v := range revs {
		r.Revoked++
		due, prov, err := cal.AddWorkdaysProvisional(workdays.DateOf(v.revoked), WithdrawalWorkdays, "")
		if err != nil {
			continue
		}
		mark := ""
		if prov {
			mark = " (provisional)"
		}
		rm, ok := removed[v.listing]
		switch {
		case ok && !day(rm.at).After(due.Time()):
			r.WithdrawnInTime++
		case ok:
			r.WithdrawnLate = append(r.WithdrawnLate, Finding{v.listing.origin, v.listing.index,
				fmt.Sprintf("decision revoked %s (%s#%d); withdrawn %s, due %s%s", workdays.DateOf(v.revoked), v.origin, v.index, wd(rm.at), due, mark)})
		case today.After(due.Time()):
			r.WithdrawalOverdue = append(r.WithdrawalOverdue, Finding{v.listing.origin, v.listing.index,
				fmt.Sprintf("decision revoked %s (%s#%d); not withdrawn, due %s%s", workdays.DateOf(v.revoked), v.origin, v.index, due, mark)})
		default:
			r.WithdrawalPending++
		}
	}
	return r
}

// writeText adds the rules section of the terminal report.
func (r Rules) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "\nRules with numbers (DOMAIN.md 4):\n")
	fmt.Fprintf(b, "  publication within %d working days of the decision: %d listings, %d in time, %d late", r.PublicationWorkdays, r.Published, r.PublishedInTime, len(r.PublishedLate))
	if r.PublishedProvisional > 0 {
		fmt.Fprintf(b, ", %d counted provisionally", r.PublishedProvisional)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "  withdrawal within %d working days of a decision's revocation: %d revoked, %d in time, %d late, %d overdue, %d pending\n",
		r.WithdrawalWorkdays, r.Revoked, r.WithdrawnInTime, len(r.WithdrawnLate), len(r.WithdrawalOverdue), r.WithdrawalPending)
	fmt.Fprintf(b, "  notices with a provisional feedback deadline: %d\n", r.ProvisionalNotices)
	r.writeCatalogueText(b)
	fmt.Fprintf(b, "  conflicting listings in force: %d\n", len(r.Conflicts))
	for i, c := range r.Conflicts {
		if i == 10 {
			fmt.Fprintf(b, "    ... %d more (see --html or --json)\n", len(r.Conflicts)-10)
			break
		}
		fmt.Fprintf(b, "    %s subject %s: %s (members %s; %s)\n", c.Kind, c.Subject, strings.Join(c.Listings, ", "), strings.Join(c.Members, ","), strings.Join(c.Docs, ", "))
	}
	fmt.Fprintf(b, "  listings no member can apply (not_applied): %d\n", len(r.NotApplied))
	fmt.Fprintf(b, "  feedback bound to its notice's addressee: %d checked, %d unbound (not counted)\n", r.FeedbackChecked, len(r.FeedbackUnbound))
	for _, group := range [][]Finding{r.FeedbackUnbound, r.NotApplied, r.PublishedLate, r.WithdrawnLate, r.WithdrawalOverdue, r.Calendar, r.CatalogueAdopted} {
		for i, f := range group {
			if i == 10 {
				fmt.Fprintf(b, "    ... %d more (see --html or --json)\n", len(group)-10)
				break
			}
			fmt.Fprintf(b, "    %s#%d %s\n", f.Origin, f.Index, f.What)
		}
	}
}
