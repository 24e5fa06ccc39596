package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// CheckOwner is the check of the owner table (sanctions.OwnerRules): a
// correction, repair, objection decision or feedback written by someone
// other than the rightful owner of the entry it acts on, or an objection
// whose subject_key is not a subject of the listing it objects to. Such an entry
// stays in the ledger but has no effect on any member; the audit names it
// as an integrity failure, and unbound feedback is not counted in the
// closed loop.
const CheckOwner = "owner"

// ownerFacts is what the owner check needs, kept small: the fields of
// listings, notices and objections the table reads, and every record that
// acts on another. Guarded by factSet.mu while adding.
type ownerFacts struct {
	targets map[key]schemas.Record // trimmed listings, notices, objections
	events  []ownerEvent
	// unbound is the feedback and the objections that break the table
	// (set by checkOwners, read by loop: not counted as an answer, not
	// counted as filed).
	unbound map[key]bool
}

type ownerEvent struct {
	key
	rec schemas.Record
}

// ownerAdd records r (at k) for checkOwners. Callers hold fs.mu.
func (fs *factSet) ownerAdd(k key, r schemas.Record) {
	o := &fs.owners
	if o.targets == nil {
		o.targets, o.unbound = map[key]schemas.Record{}, map[key]bool{}
	}
	switch r := r.(type) {
	case *schemas.Listing:
		t := &schemas.Listing{Header: schemas.Header{Submitter: fs.intern(r.Submitter)}, Domain: fs.intern(r.Domain),
			Authority: schemas.Agency{Name: fs.intern(r.Authority.Name), USCC: fs.intern(r.Authority.USCC)},
			Subject:   schemas.Subject{Type: fs.intern(r.Subject.Type), USCC: strings.Clone(r.Subject.USCC)}}
		if r.Subject.Person != nil {
			t.Subject.Person = &schemas.Person{IDHash: strings.Clone(r.Subject.Person.IDHash)}
		}
		for _, rp := range r.Subject.ResponsiblePersons { // an objection's subject_key may name one
			if rp.Person.IDHash != "" {
				t.Subject.ResponsiblePersons = append(t.Subject.ResponsiblePersons, schemas.ResponsiblePerson{Person: schemas.Person{IDHash: strings.Clone(rp.Person.IDHash)}})
			}
		}
		o.targets[k] = t
	case *schemas.SanctionNotice:
		o.targets[k] = &schemas.SanctionNotice{Header: schemas.Header{Submitter: fs.intern(r.Submitter)},
			ExecutingAgency: schemas.ExecutingAgency{Name: fs.intern(r.ExecutingAgency.Name), USCC: fs.intern(r.ExecutingAgency.USCC)}}
	case *schemas.Objection:
		t := &schemas.Objection{Header: schemas.Header{Submitter: fs.intern(r.Submitter)}, Target: fs.ref(r.Target), SubjectKey: strings.Clone(r.SubjectKey)}
		o.targets[k] = t
		o.events = append(o.events, ownerEvent{k, t}) // its subject_key must name the listing's subject
	case *schemas.Correction, *schemas.Repair, *schemas.ObjectionDecision, *schemas.Feedback:
		o.events = append(o.events, ownerEvent{k, r})
	}
}

// checkOwners checks every recorded event against the owner table. A
// submitter is a credit office of a ledger if it is one of the origin's
// anchors in the trust.
func (fs *factSet) checkOwners(primaries map[string]*copyState) []Failure {
	offices := map[string][]string{}
	for o, p := range primaries {
		for _, a := range p.trusted.Anchors {
			offices[o] = append(offices[o], a.USCC)
		}
	}
	var out []Failure
	for _, ev := range fs.owners.events {
		h := schemas.HeaderOf(ev.rec)
		target, _ := sanctions.OwnedTarget(ev.rec)
		c := sanctions.OwnerCase{Record: ev.rec, Origin: ev.origin, TargetRef: target,
			By:     sanctions.Writer{USCC: h.Submitter, CreditOffice: slices.Contains(offices[ev.origin], h.Submitter)},
			Target: fs.owners.targets[refKey(target)]}
		if o, ok := c.Target.(*schemas.Objection); ok {
			if l, ok := fs.owners.targets[refKey(o.Target)].(*schemas.Listing); ok {
				c.Listing, c.ListingOrigin = l, o.Target.Origin
			}
		}
		holder := ""
		if p := primaries[ev.origin]; p != nil {
			holder = p.Holder
		}
		f := Failure{Check: CheckOwner, Origin: ev.origin, Holder: holder, Index: int64(ev.index)}
		if c.Target == nil {
			if _, isObj := ev.rec.(*schemas.Objection); isObj {
				continue // any member's ledger may hold an objection; its listing is not audited here
			}
			if target.Origin == ev.origin || primaries[target.Origin] != nil {
				continue // the reference check reports a missing target in an audited ledger
			}
			f.Reason = fmt.Sprintf("%s acting on %s#%d, an entry of a ledger not audited here, from another ledger: only the target's ledger may hold it",
				ev.rec.Kind(), target.Origin, target.Index)
		} else if err := sanctions.CheckOwner(c); err != nil {
			f.Reason = err.Error()
		} else {
			continue
		}
		switch ev.rec.(type) {
		case *schemas.Feedback, *schemas.Objection:
			fs.owners.unbound[ev.key] = true
		}
		out = append(out, f)
	}
	return out
}
