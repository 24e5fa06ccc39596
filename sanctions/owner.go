package sanctions

import (
	"errors"
	"fmt"
	"slices"

	"github.com/creditx/creditx/schemas"
)

// Owner rules: who may write a record that acts on an earlier entry
// (谁主管谁负责, DOMAIN.md 7). This table is the one place the rules are
// written; admission (node), the lifecycle (State, NoticeStatus) and the
// offline audit all call CheckOwner, so a record the node refuses is also
// a record no mirror counts and every auditor flags.
//
//	kind                acts on          rightful writer                                   in the ledger of
//	correction          any entry        the agency that filed the target (its submitter;   the target
//	                                     for a listing also its authority), or the credit
//	                                     office of that ledger (recorded as such)
//	repair              a listing        the listing authority (decision.authority must     the listing
//	                                     be it; the listing's submitter or the credit
//	                                     office of the listing's ledger may submit its
//	                                     decision, the latter recorded as such)
//	objection_decision  an objection     the authority of the listing the objection         the objection or
//	                                     targets, or a credit office of the ledger the      the listing
//	                                     decision is written in
//	feedback            a notice         the notice's executing agency (submitter and       the notice
//	                                     agency.uscc both its USCC)
//	objection           a listing        the listed subject: subject_key must be a key of   any member's
//	                                     the listing (its USCC or person id_hash, or a
//	                                     responsible person's id_hash); a credit office
//	                                     files it on the subject's behalf
//
// An amend must also keep what identifies the listing: the subject (type,
// USCC or person id_hash), the domain and the listing authority; naming
// another subject is a new listing, not a correction.
//
// Records of other kinds (listings, notices, governance) act on no earlier
// entry of another agency and have no rule here.
var OwnerRules = []OwnerRule{
	{Kind: "correction", ActsOn: "any entry", Owner: "the agency that filed the target, or the credit office of the target's ledger", Ledger: "the target's"},
	{Kind: "repair", ActsOn: "listing", Owner: "the listing authority (the listing's submitter or the credit office of the listing's ledger may submit its decision)", Ledger: "the listing's"},
	{Kind: "objection_decision", ActsOn: "objection", Owner: "the listing authority, or the credit office of the ledger written in", Ledger: "the objection's or the listing's"},
	{Kind: "feedback", ActsOn: "sanction_notice", Owner: "the notice's executing agency", Ledger: "the notice's"},
	{Kind: "objection", ActsOn: "listing", Owner: "the listed subject (subject_key a key of the listing), filed through a credit office", Ledger: "any member's"},
}

// OwnerRule is one row of the owner table, for documentation and reports.
type OwnerRule struct {
	Kind, ActsOn, Owner, Ledger string
}

// ErrNotOwner is wrapped by every *OwnerError: the record was written by
// someone other than its rightful owner. Admission answers 403; the
// lifecycle ignores the record (Status.Ignored); the audit reports an
// integrity failure naming the entry.
var ErrNotOwner = errors.New("not written by the rightful owner")

// OwnerError says which rule a record breaks: Field is the JSON path of the
// offending member ("record.submitter", "record.notice", ...), Target the
// entry acted on (origin#index), Owner the rightful owner(s).
type OwnerError struct {
	Kind   string
	Field  string
	Target string
	Owner  string
	Reason string
}

func (e *OwnerError) Error() string {
	return fmt.Sprintf("%s acting on %s: %s (rightful owner: %s)", e.Kind, e.Target, e.Reason, e.Owner)
}

func (e *OwnerError) Unwrap() error { return ErrNotOwner }

// Writer is who wrote a record: the submitter's USCC, and whether it is a
// credit office (an anchor key) of the ledger the record is in.
type Writer struct {
	USCC         string
	CreditOffice bool
}

// OwnerCase is one record to check against the owner table. Origin is the
// ledger the record is (or would be) in. Target is the entry the record
// acts on (Ref.Origin is its ledger); Listing is, for an objection
// decision, the listing its objection targets (nil if not known: then only
// a credit office may decide).
type OwnerCase struct {
	Record    schemas.Record
	Origin    string
	By        Writer
	Target    schemas.Record
	TargetRef schemas.Ref
	Listing   *schemas.Listing
	// ListingOrigin is the ledger of Listing.
	ListingOrigin string
}

// OwnedTarget returns the entry rec acts on under the owner table (the
// corrected listing, the repaired listing, the decided objection, the
// answered notice), and false for a record kind the table has no rule for.
func OwnedTarget(rec schemas.Record) (schemas.Ref, bool) {
	switch r := rec.(type) {
	case *schemas.Correction:
		return r.Target, true
	case *schemas.Repair:
		return r.Listing, true
	case *schemas.ObjectionDecision:
		return r.Objection, true
	case *schemas.Feedback:
		return r.Notice, true
	case *schemas.Objection:
		return r.Target, true
	}
	return schemas.Ref{}, false
}

// CheckOwner returns nil if c.Record is written by its rightful owner, an
// *OwnerError otherwise. Records of kinds without a rule pass.
func CheckOwner(c OwnerCase) error {
	target := refString(c.TargetRef)
	fail := func(field, owner, format string, args ...any) error {
		return &OwnerError{Kind: c.Record.Kind(), Field: field, Target: target, Owner: owner, Reason: fmt.Sprintf(format, args...)}
	}
	by := c.By.USCC
	switch r := c.Record.(type) {
	case *schemas.Correction:
		if c.Target == nil {
			return fail("record.target", "unknown", "the target entry is not known here")
		}
		filers := filersOf(c.Target)
		owner := fmt.Sprintf("%v or the credit office of %s", filers, c.TargetRef.Origin)
		if c.Origin != c.TargetRef.Origin {
			return fail("record.target", owner, "a correction must be written in the target's ledger %s, not in %s", c.TargetRef.Origin, c.Origin)
		}
		if !slices.Contains(filers, by) && !c.By.CreditOffice {
			return fail("record.submitter", owner, "submitter %s did not file the target", by)
		}
		if l, ok := c.Target.(*schemas.Listing); ok && r.Action == "amend" {
			if why := amendChanges(r, l); why != "" {
				return fail("record.replacement", owner, "%s", why)
			}
		}
	case *schemas.Repair:
		l, ok := c.Target.(*schemas.Listing)
		if !ok {
			return fail("record.listing", "the listing authority", "the repaired entry is not a listing")
		}
		owner := fmt.Sprintf("the listing authority %s (%s)", l.Authority.Name, l.Authority.USCC)
		if c.Origin != c.TargetRef.Origin {
			return fail("record.listing", owner, "a repair must be written in the listing's ledger %s, not in %s", c.TargetRef.Origin, c.Origin)
		}
		if r.Decision.Authority.USCC != l.Authority.USCC {
			return fail("record.decision.authority", owner, "decided by %s, not by the listing authority", r.Decision.Authority.USCC)
		}
		if by != l.Authority.USCC && by != l.Submitter && !c.By.CreditOffice {
			return fail("record.submitter", owner, "submitter %s is neither the listing authority (nor the listing's submitter %s) nor a credit office of %s", by, l.Submitter, c.Origin)
		}
	case *schemas.ObjectionDecision:
		if _, ok := c.Target.(*schemas.Objection); !ok {
			return fail("record.objection", "the listing authority or a credit office", "the decided entry is not an objection")
		}
		owner := "a credit office"
		if c.Listing != nil {
			owner = fmt.Sprintf("the listing authority %s (%s) or a credit office", c.Listing.Authority.Name, c.Listing.Authority.USCC)
		}
		if c.Origin != c.TargetRef.Origin && (c.Listing == nil || c.Origin != c.ListingOrigin) {
			return fail("record.objection", owner, "a decision must be written in the objection's ledger %s or the listing's, not in %s", c.TargetRef.Origin, c.Origin)
		}
		authority := c.Listing != nil && by == c.Listing.Authority.USCC
		if !authority && !c.By.CreditOffice {
			return fail("record.submitter", owner, "submitter %s is neither the listing authority nor a credit office", by)
		}
		if authority && r.Authority.USCC != by {
			return fail("record.authority", owner, "authority %s is not the submitting listing authority %s", r.Authority.USCC, by)
		}
	case *schemas.Objection:
		l, ok := c.Target.(*schemas.Listing)
		if !ok {
			return fail("record.target", "the listed subject", "the objected entry is not a listing")
		}
		if !slices.Contains(ListingSubjectKeys(l), r.SubjectKey) {
			return fail("record.subject_key", "the listed subject "+subjectKey(l),
				"subject_key %s is not a subject of the listing (its subject or a responsible person): a subject objects only to a listing naming it", r.SubjectKey)
		}
	case *schemas.Feedback:
		n, ok := c.Target.(*schemas.SanctionNotice)
		if !ok {
			return fail("record.notice", "the notice's executing agency", "the answered entry is not a sanction notice")
		}
		if why := FeedbackUnbound(r, c.Origin, n, c.TargetRef.Origin); why != "" {
			field := "record.submitter"
			if c.Origin != c.TargetRef.Origin {
				field = "record.notice"
			} else if r.Submitter == n.ExecutingAgency.USCC {
				field = "record.agency.uscc"
			}
			return fail(field, fmt.Sprintf("%s (%s), in %s", n.ExecutingAgency.Name, n.ExecutingAgency.USCC, c.TargetRef.Origin), "%s", why)
		}
	}
	return nil
}

// FeedbackUnbound says why feedback f (in ledger origin) does not count for
// notice n (in ledger noticeOrigin), or "" if it is bound: it must be
// written in the notice's ledger, by the notice's executing agency, naming
// that agency.
func FeedbackUnbound(f *schemas.Feedback, origin string, n *schemas.SanctionNotice, noticeOrigin string) string {
	switch {
	case origin != noticeOrigin:
		return fmt.Sprintf("feedback written in %s for a notice of %s: only an executing agency of the issuing member answers", origin, noticeOrigin)
	case f.Submitter != n.ExecutingAgency.USCC:
		return fmt.Sprintf("feedback submitted by %s for a notice addressed to %s", f.Submitter, n.ExecutingAgency.USCC)
	case f.Agency.USCC != n.ExecutingAgency.USCC:
		return fmt.Sprintf("feedback names agency %s for a notice addressed to %s", f.Agency.USCC, n.ExecutingAgency.USCC)
	}
	return ""
}

// filersOf is who filed entry r: its submitter and, for a listing, its
// authority.
func filersOf(r schemas.Record) []string {
	out := []string{schemas.HeaderOf(r).Submitter}
	if l, ok := r.(*schemas.Listing); ok && l.Authority.USCC != out[0] {
		out = append(out, l.Authority.USCC)
	}
	return out
}

// amendChanges says what an amendment of l changes that only a new listing
// may change, or "". A replacement that does not decode is left to the
// lifecycle (State ignores it with the reason).
func amendChanges(r *schemas.Correction, l *schemas.Listing) string {
	rec, err := schemas.Decode(r.Replacement)
	if err != nil {
		return ""
	}
	repl, ok := rec.(*schemas.Listing)
	if !ok {
		return "the replacement of a listing must be a listing, not a " + rec.Kind()
	}
	switch {
	case repl.Subject.Type != l.Subject.Type:
		return fmt.Sprintf("the replacement changes the subject type from %s to %s: file a new listing instead", l.Subject.Type, repl.Subject.Type)
	case subjectKey(repl) != subjectKey(l):
		return fmt.Sprintf("the replacement names another subject (%s, not %s): file a new listing instead", subjectKey(repl), subjectKey(l))
	case repl.Domain != l.Domain:
		return fmt.Sprintf("the replacement changes the domain from %s to %s", l.Domain, repl.Domain)
	case repl.Authority.USCC != l.Authority.USCC:
		return fmt.Sprintf("the replacement names authority %s, but a correction cannot change the listing authority %s", repl.Authority.USCC, l.Authority.USCC)
	}
	return ""
}

// subjectKey is the USCC of a listed organisation or the id_hash of a
// listed person.
func subjectKey(l *schemas.Listing) string {
	if l.Subject.Person != nil && l.Subject.USCC == "" {
		return l.Subject.Person.IDHash
	}
	return l.Subject.USCC
}

// ListingSubjectKeys are the keys a subject of l is known by: the listed
// organisation's USCC or the listed person's id_hash, and each responsible
// person's id_hash.
func ListingSubjectKeys(l *schemas.Listing) []string {
	var out []string
	if l.Subject.USCC != "" {
		out = append(out, l.Subject.USCC)
	}
	if l.Subject.Person != nil && l.Subject.Person.IDHash != "" {
		out = append(out, l.Subject.Person.IDHash)
	}
	for _, rp := range l.Subject.ResponsiblePersons {
		if rp.Person.IDHash != "" {
			out = append(out, rp.Person.IDHash)
		}
	}
	return out
}

// eventOwner checks event ev of a listing's history against the owner
// table; target is the entry ev acts on (the listing, or for a decision its
// objection), l the listing at lref.
func eventOwner(ev Event, target schemas.Record, targetRef schemas.Ref, l *schemas.Listing, lref schemas.Ref) error {
	return CheckOwner(OwnerCase{Record: ev.Record, Origin: ev.Ref.Origin,
		By:     Writer{USCC: schemas.HeaderOf(ev.Record).Submitter, CreditOffice: ev.CreditOffice},
		Target: target, TargetRef: targetRef, Listing: l, ListingOrigin: lref.Origin})
}
