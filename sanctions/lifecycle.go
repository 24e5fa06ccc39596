package sanctions

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// Listing states. Only active and suspended listings can restrict.
const (
	StateActive       = "active"         // in force and disclosed at its level
	StateSuspended    = "suspended"      // an objection is pending: disclosure suspended
	StateRemoved      = "removed"        // removed by a repair or an upheld objection; final
	StateWithdrawn    = "withdrawn"      // withdrawn by a correction; final
	StateExpired      = "expired"        // publicity period over; no action needed
	StateNotYetListed = "not_yet_listed" // before listed_on, or before the record existed
)

// Objection outcomes.
const (
	OutcomePending  = "pending"
	OutcomeUpheld   = "upheld"
	OutcomePartial  = "partial"
	OutcomeRejected = "rejected"
)

// Event is a record that references a listing (an objection, its decision,
// a repair, a correction; notices and feedback may be included and are
// skipped), with the ledger entry it is stored at.
type Event struct {
	Ref schemas.Ref
	// Seq is the order in which this node indexed the event, the same on
	// every replica. Events are applied in created_at order, ties broken
	// by Seq, then by Ref.
	Seq    uint64
	Record schemas.Record
	// CreditOffice says the record was signed by a credit-office anchor key
	// of the ledger it is in (set by the caller from that ledger's
	// anchors); the owner table (CheckOwner) lets a credit office correct
	// and decide on behalf of the owner.
	CreditOffice bool
}

// ListingHistory is a listing and every event referencing it (directly, or
// through one of its objections), from any member's ledger.
type ListingHistory struct {
	Ref     schemas.Ref
	Listing *schemas.Listing
	Events  []Event
}

// Status is a listing's state at an instant, with the evidence for it.
type Status struct {
	State string
	// Disclosed says whether the listing may be shown at its disclosure
	// level: false while suspended, after stop_disclosure / stop_publicity
	// / shield, for disclosure "none", and in every final state.
	Disclosed bool
	// Restricts says whether measures apply to the subject now.
	Restricts bool
	Reason    string
	// Listing is the listing as amended by the corrections in force.
	Listing    *schemas.Listing
	Deadlines  []Deadline
	Objections []ObjectionStatus
	// Trail lists the events that changed the state, in applied order.
	Trail []Step
	// Ignored lists the events that were not applied, and why: an invalid
	// repair, an attempt to re-activate a removed listing, a reference to
	// another entry. Auditors should see every one.
	Ignored []Ignored
}

// Deadline is one objection-handling deadline (DOMAIN.md 4), counted in
// working days of the objection's region.
type Deadline struct {
	What      string // mark | correct_or_forward | provider_answer | decide | decide_extended
	Objection schemas.Ref
	Due       schemas.Date
	Done      schemas.Date // when it was done; zero while not done
	Met       bool         // done on or before Due
	Overdue   bool         // done after Due, or not done and Due has passed
	// Unknown says why Due could not be computed (a date before the
	// calendar's first year); Due, Met and Overdue are then zero.
	Unknown string
	// Provisional says Due lies past the calendar's last adopted year and
	// was counted on weekends only (issue 12).
	Provisional bool
}

// ObjectionStatus is one objection and its outcome.
type ObjectionStatus struct {
	Ref      schemas.Ref
	FiledAt  schemas.Time
	Grounds  []string
	Outcome  string // pending | upheld | partial | rejected
	Decision *schemas.Ref
	Actions  []string
}

// Step is an applied event and what it did.
type Step struct {
	Event  schemas.Ref
	Kind   string
	Effect string
}

// Ignored is an event that was not applied.
type Ignored struct {
	Event  schemas.Ref
	Kind   string
	Reason string
}

// State derives a listing's status at instant at from its history, using
// only events created at or before at (so asking about the past answers as
// the ledger stood then). Rules (DOMAIN.md 4, defaults from the catalogue):
//
//   - before the listing record existed, or before listed_on: not_yet_listed;
//   - an objection marks the listing at once; while any objection is
//     pending the listing is suspended: not disclosed, and restricting
//     unless Config.SuspendMeasuresOnObjection;
//   - a decision rejected closes the objection (disclosure resumes once none
//     is pending); upheld or partial applies its actions: remove -> removed,
//     stop_disclosure -> not disclosed, correct / supplement -> a correction
//     is expected;
//   - a repair applies only if decided by the listing authority (same USCC
//     as the original listing's authority) and, for early_repair, if the
//     programme allows it and its minimum period has passed; its effects:
//     remove -> removed, stop_publicity / shield -> not disclosed;
//   - a correction withdraws (-> withdrawn) or amends (the replacement, a
//     listing by the same authority, becomes the listing in force);
//   - removed and withdrawn are final: a removed listing cannot come back
//     without a new decision (a new listing), so a later amendment is
//     ignored and reported; a withdrawal of a removed listing is applied;
//   - after publicity_end (of the listing in force) an active or suspended
//     listing is expired, with no action needed.
//
// An event that cannot apply is listed in Status.Ignored and changes
// nothing. State fails only if the history has no listing.
func (e *Engine) State(h ListingHistory, at time.Time) (Status, error) {
	return e.state(h, at, true)
}

type objState struct {
	ObjectionStatus
	rec       *schemas.Objection
	created   schemas.Time
	answered  schemas.Date // first action by the providing unit
	decidedOn schemas.Date
}

func (e *Engine) state(h ListingHistory, at time.Time, withDeadlines bool) (Status, error) {
	if h.Listing == nil {
		return Status{}, errors.New("sanctions: State: the history has no listing")
	}
	orig := h.Listing
	st := Status{State: StateActive, Listing: orig}
	if at.Before(orig.CreatedAt.Time) {
		st.State, st.Reason = StateNotYetListed, "the listing record was created at "+orig.CreatedAt.String()
		return st, nil
	}
	prog, known := e.cfg.Catalogue.Programme(orig.Programme.Code)
	events := sortedEvents(h.Events, at)
	var objs []*objState
	stopDisclosure := false
	final := func() bool { return st.State == StateRemoved || st.State == StateWithdrawn }
	ignore := func(ev Event, format string, args ...any) {
		st.Ignored = append(st.Ignored, Ignored{Event: ev.Ref, Kind: ev.Record.Kind(), Reason: fmt.Sprintf(format, args...)})
	}
	apply := func(ev Event, effect string) {
		if ev.CreditOffice { // acting for the owner: recorded as such (owner.go)
			effect += " (by the credit office " + schemas.HeaderOf(ev.Record).Submitter + ")"
		}
		st.Trail = append(st.Trail, Step{Event: ev.Ref, Kind: ev.Record.Kind(), Effect: effect})
	}
	for _, ev := range events {
		switch r := ev.Record.(type) {
		case *schemas.Objection:
			if !sameRef(r.Target, h.Ref) {
				ignore(ev, "targets %s, not this listing", refString(r.Target))
				continue
			}
			if err := eventOwner(ev, orig, h.Ref, orig, h.Ref); err != nil {
				ignore(ev, "%v", err)
				continue
			}
			objs = append(objs, &objState{
				ObjectionStatus: ObjectionStatus{Ref: ev.Ref, FiledAt: r.FiledAt, Grounds: slices.Clone(r.Grounds), Outcome: OutcomePending},
				rec:             r, created: r.CreatedAt,
			})
			apply(ev, "objection marked")
		case *schemas.ObjectionDecision:
			i := slices.IndexFunc(objs, func(o *objState) bool { return sameRef(o.Ref, r.Objection) })
			if i < 0 {
				ignore(ev, "decides objection %s, which is not in this listing's history", refString(r.Objection))
				continue
			}
			o := objs[i]
			if err := eventOwner(ev, o.rec, o.Ref, orig, h.Ref); err != nil {
				ignore(ev, "%v", err)
				continue
			}
			if o.Outcome != OutcomePending {
				ignore(ev, "objection %s was already decided (%s)", refString(o.Ref), o.Outcome)
				continue
			}
			ref := ev.Ref
			o.Outcome, o.Decision, o.Actions, o.decidedOn = r.Decision, &ref, slices.Clone(r.Actions), dateIn(r.CreatedAt.Time)
			if o.answered.IsZero() {
				o.answered = o.decidedOn
			}
			effect := "objection " + r.Decision
			if r.Decision != OutcomeRejected {
				if slices.Contains(r.Actions, "stop_disclosure") {
					stopDisclosure = true
					effect += "; disclosure stopped"
				}
				if slices.Contains(r.Actions, "remove") && !final() {
					st.State, st.Reason = StateRemoved, "objection "+refString(o.Ref)+" "+r.Decision+": removed"
					effect += "; removed"
				}
			}
			apply(ev, effect)
		case *schemas.Repair:
			if !sameRef(r.Listing, h.Ref) {
				ignore(ev, "repairs %s, not this listing", refString(r.Listing))
				continue
			}
			if final() {
				ignore(ev, "the listing is already %s", st.State)
				continue
			}
			if err := eventOwner(ev, orig, h.Ref, orig, h.Ref); err != nil {
				ignore(ev, "%v", err)
				continue
			}
			if why := repairInvalid(r, orig, prog, known); why != "" {
				ignore(ev, "%s", why)
				continue
			}
			effect := "repair " + r.Type + " (" + r.Decision.DocNo + ")"
			if slices.Contains(r.Effects, "stop_publicity") || slices.Contains(r.Effects, "shield") {
				stopDisclosure = true
				effect += "; publicity stopped"
			}
			if slices.Contains(r.Effects, "remove") {
				st.State, st.Reason = StateRemoved, "repair "+r.Type+" by "+r.Decision.Authority.Name+" ("+r.Decision.DocNo+")"
				effect += "; removed"
			}
			apply(ev, effect)
		case *schemas.Correction:
			if !sameRef(r.Target, h.Ref) {
				ignore(ev, "corrects %s, not this listing", refString(r.Target))
				continue
			}
			if err := eventOwner(ev, orig, h.Ref, orig, h.Ref); err != nil {
				ignore(ev, "%v", err)
				continue
			}
			for _, o := range objs {
				if o.Outcome == OutcomePending && o.answered.IsZero() && r.Submitter == o.rec.ProvidingUnit.USCC {
					o.answered = dateIn(r.CreatedAt.Time)
				}
			}
			switch {
			case st.State == StateWithdrawn:
				ignore(ev, "the listing is already withdrawn")
			case r.Action == "withdraw":
				st.State, st.Reason = StateWithdrawn, "withdrawn: "+r.Reason
				apply(ev, "withdrawn")
			case st.State == StateRemoved:
				ignore(ev, "a removed listing cannot come back without a new decision: submit a new listing instead of amending this one")
			default:
				repl, why := e.replacement(r, orig)
				if why != "" {
					ignore(ev, "%s", why)
					continue
				}
				st.Listing = repl
				apply(ev, "amended")
			}
		case *schemas.Listing:
			ignore(ev, "a listing cannot be an event of another listing")
		default:
			// Notices, feedback and governance do not change a listing's state.
		}
	}
	cur := st.Listing
	today := dateIn(at)
	pending := slices.ContainsFunc(objs, func(o *objState) bool { return o.Outcome == OutcomePending })
	if st.State == StateActive {
		switch {
		case today.Before(cur.ListedOn.Time):
			st.State, st.Reason = StateNotYetListed, "listed on "+cur.ListedOn.String()
		case today.After(cur.PublicityEnd.Time):
			st.State, st.Reason = StateExpired, "publicity period ended "+cur.PublicityEnd.String()
		case pending:
			st.State, st.Reason = StateSuspended, "objection pending: disclosure suspended"
		}
	}
	st.Disclosed = st.State == StateActive && !stopDisclosure && cur.Disclosure != "none"
	st.Restricts = (st.State == StateActive || st.State == StateSuspended && !e.cfg.SuspendMeasuresOnObjection) &&
		!(known && prog.Red)
	for _, o := range objs {
		st.Objections = append(st.Objections, o.ObjectionStatus)
		if withDeadlines {
			st.Deadlines = append(st.Deadlines, e.deadlines(o, prog.Objection, known, today)...)
		}
	}
	return st, nil
}

// repairInvalid returns why a repair cannot apply, or "".
func repairInvalid(r *schemas.Repair, l *schemas.Listing, prog catalogue.Programme, known bool) string {
	if r.Decision.Authority.USCC != l.Authority.USCC {
		return fmt.Sprintf("repair decided by %s (%s), not by the listing authority %s (%s)",
			r.Decision.Authority.Name, r.Decision.Authority.USCC, l.Authority.Name, l.Authority.USCC)
	}
	if r.Type != "early_repair" {
		return ""
	}
	switch {
	case !known:
		return fmt.Sprintf("programme %s is not in the catalogue, so early repair cannot be checked", l.Programme.Code)
	case !prog.Repair.EarlyAllowed:
		return fmt.Sprintf("programme %s does not allow early repair", prog.Code)
	case r.Application == nil:
		return "early repair without an application"
	}
	earliest := l.ListedOn.AddDate(0, prog.Repair.MinMonths, 0)
	if r.Application.Date.Before(earliest) {
		return fmt.Sprintf("early repair applied for on %s, before the minimum period of %d months ends on %s",
			r.Application.Date, prog.Repair.MinMonths, earliest.Format(time.DateOnly))
	}
	return ""
}

// replacement returns the amended listing of correction r, or why it cannot
// apply.
func (e *Engine) replacement(r *schemas.Correction, orig *schemas.Listing) (*schemas.Listing, string) {
	rec, err := schemas.Decode(r.Replacement)
	if err != nil {
		return nil, "replacement does not decode: " + err.Error()
	}
	l, ok := rec.(*schemas.Listing)
	if !ok {
		return nil, "replacement is a " + rec.Kind() + ", not a listing"
	}
	if err := e.validate(l); err != nil {
		return nil, "replacement is not a valid listing: " + err.Error()
	}
	if l.Authority.USCC != orig.Authority.USCC {
		return nil, fmt.Sprintf("replacement names authority %s, but a correction cannot change the listing authority %s", l.Authority.USCC, orig.Authority.USCC)
	}
	return l, ""
}

// deadlines computes the objection deadlines of o as of today. The
// providing unit is routed to when the objection is indexed (the record
// names it), so mark and correct_or_forward are done on the indexing date;
// the provider's answer is its first correction of the listing or the
// decision; decide and decide_extended count from the answer (or its due
// date while unanswered).
func (e *Engine) deadlines(o *objState, rule catalogue.Objection, known bool, today schemas.Date) []Deadline {
	if !known {
		rule = catalogue.Objection{Mark: catalogue.DefaultMark, CorrectOrForward: catalogue.DefaultCorrectOrForward,
			ProviderAnswer: catalogue.DefaultProviderAnswer, Decide: catalogue.DefaultDecide, DecideExtended: catalogue.DefaultDecideExtended}
	}
	region := o.rec.Region
	filed := dateIn(o.FiledAt.Time)
	indexed := dateIn(o.created.Time)
	var out []Deadline
	add := func(what string, from schemas.Date, n int, done schemas.Date) schemas.Date {
		d := Deadline{What: what, Objection: o.Ref, Done: done}
		due, prov, err := e.cfg.Calendar.AddWorkdaysProvisional(toWorkDate(from), n, region)
		if err != nil {
			d.Unknown = err.Error()
			out = append(out, d)
			return schemas.Date{}
		}
		d.Due, d.Provisional = toSchemaDate(due), prov
		if !done.IsZero() {
			d.Met = !done.After(d.Due.Time)
			d.Overdue = !d.Met
		} else {
			d.Overdue = today.After(d.Due.Time)
		}
		out = append(out, d)
		return d.Due
	}
	add("mark", filed, rule.Mark, indexed)
	add("correct_or_forward", filed, rule.CorrectOrForward, indexed)
	answerDue := add("provider_answer", indexed, rule.ProviderAnswer, o.answered)
	base := o.answered
	if base.IsZero() {
		base = answerDue
	}
	if base.IsZero() {
		for _, what := range []string{"decide", "decide_extended"} {
			out = append(out, Deadline{What: what, Objection: o.Ref, Done: o.decidedOn, Unknown: "the provider's answer deadline is unknown"})
		}
		return out
	}
	add("decide", base, rule.Decide, o.decidedOn)
	add("decide_extended", base, rule.DecideExtended, o.decidedOn)
	return out
}

// sortedEvents returns the events created at or before at, in applied order.
func sortedEvents(evs []Event, at time.Time) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Record == nil || isNilRecord(ev.Record) {
			continue
		}
		if schemas.HeaderOf(ev.Record).CreatedAt.After(at) {
			continue
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		ta, tb := schemas.HeaderOf(a.Record).CreatedAt.Time, schemas.HeaderOf(b.Record).CreatedAt.Time
		return cmp.Or(ta.Compare(tb), cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Ref.Origin, b.Ref.Origin), cmp.Compare(a.Ref.Index, b.Ref.Index))
	})
	return out
}

func isNilRecord(r schemas.Record) bool {
	switch v := r.(type) {
	case *schemas.Objection:
		return v == nil
	case *schemas.ObjectionDecision:
		return v == nil
	case *schemas.Repair:
		return v == nil
	case *schemas.Correction:
		return v == nil
	case *schemas.Listing:
		return v == nil
	case *schemas.SanctionNotice:
		return v == nil
	case *schemas.Feedback:
		return v == nil
	case *schemas.Governance:
		return v == nil
	}
	return false
}

func sameRef(a, b schemas.Ref) bool { return a == b }

func refString(r schemas.Ref) string { return fmt.Sprintf("%s#%d", r.Origin, r.Index) }
