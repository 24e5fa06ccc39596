package sanctions

import (
	"errors"
	"fmt"

	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Provisional feedback deadlines (issue 12).
//
// NoticesFor never fails because the holiday calendar ends: a feedback
// deadline reaching past the calendar's last year is counted on weekends
// only and the notice says so (feedback_due_provisional). Once that year's
// calendar is adopted the issuing member recomputes the deadline with
// RecomputeFeedbackDue; the computation reads only the notice, its listing,
// the catalogue and the calendar, so every replica that applies the same
// adoption gets the same date.

// WithCalendar returns an engine identical to e but counting working days
// under cal (for instance the embedded calendar extended by the years
// adopted on the ledger). e is unchanged.
func (e *Engine) WithCalendar(cal *workdays.Calendar) *Engine {
	if cal == nil || cal == e.cfg.Calendar {
		return e
	}
	c := *e
	c.cfg.Calendar = cal
	return &c
}

// Calendar returns the working-day calendar the engine counts with.
func (e *Engine) Calendar() *workdays.Calendar { return e.cfg.Calendar }

// RecomputeFeedbackDue returns the feedback deadline notice n would have
// under the engine's calendar: the programme's feedback working days (from
// listing l's programme in the catalogue) after the later of the notice's
// issue date (created_at in UTC+8) and its start, counted in the executing
// agency's region (from the agency directory; the member's region if the
// agency is no longer listed). provisional is true while the deadline is
// still past the calendar's last year.
func (e *Engine) RecomputeFeedbackDue(l *schemas.Listing, n *schemas.SanctionNotice) (due schemas.Date, provisional bool, err error) {
	if l == nil || n == nil {
		return schemas.Date{}, false, errors.New("sanctions: RecomputeFeedbackDue: listing and notice are required")
	}
	prog, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
	if !ok {
		return schemas.Date{}, false, fmt.Errorf("sanctions: RecomputeFeedbackDue: programme %q: %w", l.Programme.Code, ErrUnknownProgramme)
	}
	region := e.cfg.Region
	for _, a := range e.cfg.Agencies.All() {
		if a.USCC == n.ExecutingAgency.USCC {
			region = a.Region
			break
		}
	}
	from := toWorkDate(n.Start)
	if d := toWorkDate(dateIn(n.CreatedAt.Time)); d.After(from) {
		from = d
	}
	d, prov, err := e.cfg.Calendar.AddWorkdaysProvisional(from, prog.FeedbackWorkdays, region)
	if err != nil {
		return schemas.Date{}, false, fmt.Errorf("sanctions: RecomputeFeedbackDue: %w", err)
	}
	return toSchemaDate(d), prov, nil
}
