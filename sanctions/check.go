package sanctions

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// Roles a subject key can have in a listing.
const (
	RoleEnterprise        = "enterprise"          // the listed organisation, by USCC
	RoleResponsiblePerson = "responsible_persons" // a responsible person or the listed natural person, by id_hash
)

// CheckResult answers "may this subject get this approval at this time?"
// (事前查信用).
type CheckResult struct {
	Subject string
	Action  string
	At      time.Time
	// Allowed is false iff Measures is not empty.
	Allowed bool
	// Measures are the restricting measures, one per (listing, measure),
	// in Listings order and catalogue order, each citing the catalogue
	// version, memorandum, item and legal basis.
	Measures []Citation
	// Listings are every listing of any member that names the subject and
	// was recorded by the instant asked, in force or not (removed, expired
	// and withdrawn ones stay visible with their state), ordered by origin
	// and index. The caller attaches the
	// inclusion proofs of their Refs.
	Listings []Finding
}

// Citation is a measure that restricts the checked action, and the listing
// that triggers it.
type Citation struct {
	Listing schemas.Ref
	Role    string
	Measure schemas.Measure
}

// Finding is a listing that names the checked subject.
type Finding struct {
	Ref        schemas.Ref
	Member     string // region of the ledger the listing is published in
	Programme  string
	Domain     string
	Authority  schemas.Agency
	Decision   schemas.DocRef
	Role       string
	State      string
	Restricts  bool
	Disclosed  bool
	Recognised bool // the programme is in the catalogue, with the listing's domain
	Reason     string
}

// CheckInputError reports a bad check request: which field, which value,
// and why. Index is the position in a batch (0 for a single check).
type CheckInputError struct {
	Index  int
	Field  string
	Value  string
	Reason string
}

func (e *CheckInputError) Error() string {
	if e.Index > 0 {
		return fmt.Sprintf("sanctions: check #%d: %s %q: %s", e.Index, e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("sanctions: check: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Check decides whether subjectKey (a USCC, or a person's id_hash "h1:...")
// may get approval action (one of catalogue.Actions()) at instant at, given
// the histories of the listings that may name it (listings not naming it
// are skipped). The subject is restricted iff some listing that restricts
// at at (see State) belongs to a recognised programme whose domain has a
// catalogue measure restricting action that applies to the subject's role:
// the listed organisation (enterprise), or a responsible person / the
// listed natural person (responsible_persons; such measures always carry a
// legal basis). Responsible persons of a listed enterprise are therefore
// restricted exactly where a measure says so.
//
// It fails with *CheckInputError for a malformed key or an unknown action,
// and changes nothing.
func (e *Engine) Check(subjectKey, action string, listings []ListingHistory, at time.Time) (CheckResult, error) {
	if err := e.checkRequest(subjectKey, action); err != nil {
		return CheckResult{}, err
	}
	return e.check(subjectKey, action, listings, at), nil
}

// Lookup returns the histories of the listings that may name a subject key.
// Its error aborts a batch.
type Lookup func(subjectKey string) ([]ListingHistory, error)

// CheckBatch checks many subjects for one action in one call, in the order
// given. Every request is checked for form before any lookup; a bad one
// fails the whole batch with a *CheckInputError naming its 1-based index.
func (e *Engine) CheckBatch(subjects []string, action string, at time.Time, lookup Lookup) ([]CheckResult, error) {
	for i, s := range subjects {
		if err := e.checkRequest(s, action); err != nil {
			err.Index = i + 1
			return nil, err
		}
	}
	out := make([]CheckResult, 0, len(subjects))
	for _, s := range subjects {
		ls, err := lookup(s)
		if err != nil {
			return nil, fmt.Errorf("sanctions: check batch: lookup %s: %w", s, err)
		}
		out = append(out, e.check(s, action, ls, at))
	}
	return out, nil
}

func (e *Engine) checkRequest(subjectKey, action string) *CheckInputError {
	if !schemas.IsIDHash(subjectKey) {
		if err := schemas.CheckUSCCAllowing(subjectKey, schemas.DefaultUSCCAllowList()); err != nil {
			return &CheckInputError{Field: "subject", Value: subjectKey, Reason: "neither a person id_hash (h1:<64 hex>) nor a valid USCC: " + err.Error()}
		}
	}
	if !e.actions[action] {
		return &CheckInputError{Field: "action", Value: action, Reason: fmt.Sprintf("not one of %v", catalogue.Actions())}
	}
	return nil
}

func (e *Engine) check(key, action string, listings []ListingHistory, at time.Time) CheckResult {
	res := CheckResult{Subject: key, Action: action, At: at}
	hs := slices.Clone(listings)
	slices.SortStableFunc(hs, func(a, b ListingHistory) int {
		return cmp.Or(cmp.Compare(a.Ref.Origin, b.Ref.Origin), cmp.Compare(a.Ref.Index, b.Ref.Index))
	})
	cat := e.cfg.Catalogue
	for _, h := range hs {
		if h.Listing == nil || at.Before(h.Listing.CreatedAt.Time) {
			continue // not in any ledger yet at the instant asked
		}
		st, err := e.state(h, at, false)
		if err != nil {
			continue
		}
		l := st.Listing
		role := roleOf(l, key)
		if role == "" && l != h.Listing {
			role = roleOf(h.Listing, key) // named before a correction: show it, it cannot restrict
			st.Restricts = false
		}
		if role == "" {
			continue
		}
		prog, ok := cat.Programme(l.Programme.Code)
		recognised := ok && prog.Domain == l.Domain
		f := Finding{Ref: h.Ref, Member: l.Region, Programme: l.Programme.Code, Domain: l.Domain, Authority: l.Authority,
			Decision: l.Decision, Role: role, State: st.State, Restricts: st.Restricts && recognised,
			Disclosed: st.Disclosed, Recognised: recognised, Reason: st.Reason}
		if !recognised {
			f.Reason = fmt.Sprintf("programme %s is not recognised by catalogue %s", l.Programme.Code, cat.Version())
		}
		res.Listings = append(res.Listings, f)
		if !f.Restricts {
			continue
		}
		for _, m := range e.restricting[restrictKey{l.Domain, role, action}] {
			m.AppliesTo = slices.Clone(m.AppliesTo)
			res.Measures = append(res.Measures, Citation{Listing: h.Ref, Role: role, Measure: m})
		}
	}
	res.Allowed = len(res.Measures) == 0
	return res
}

// roleOf returns the role key has in listing l, or "".
func roleOf(l *schemas.Listing, key string) string {
	if l.Subject.Type != schemas.SubjectNaturalPerson && l.Subject.USCC == key {
		return RoleEnterprise
	}
	if slices.Contains(personKeys(l), key) {
		return RoleResponsiblePerson
	}
	return ""
}
