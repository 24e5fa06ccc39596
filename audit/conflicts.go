package audit

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Conflicts among listings (issue 12), found by sanctions.DetectConflicts
// over every subject named by two listings or more across the audited
// ledgers. The audit keeps, per listing, only what conflict detection reads
// (subject, programme, domain, decision numbers, dates); listings removed
// (withdrawn or repaired away) or created after the audit instant are left
// out before detection, so the engine sees the listings in force; it judges
// expiry itself. Programmes are read from the embedded measures catalogue.

// ConflictFinding is one conflict: kind (same_act, red_and_black), the
// subject, the listings and the shared documents or red programmes.
type ConflictFinding struct {
	Kind     string   `json:"kind"`
	Subject  string   `json:"subject"`
	Listings []string `json:"listings"` // origin#index
	Members  []string `json:"members"`
	Docs     []string `json:"docs"`
}

// slimListing keeps what DetectConflicts reads of a listing.
func slimListing(l *schemas.Listing) *schemas.Listing {
	s := &schemas.Listing{Header: schemas.Header{Region: l.Region, CreatedAt: l.CreatedAt}, Domain: l.Domain,
		Programme: schemas.Programme{Code: l.Programme.Code}, Decision: schemas.DocRef{DocNo: l.Decision.DocNo, Date: l.Decision.Date},
		ListedOn: l.ListedOn, PublicityEnd: l.PublicityEnd, Disclosure: l.Disclosure}
	s.Subject = schemas.Subject{Type: l.Subject.Type, USCC: l.Subject.USCC}
	if l.Subject.Person != nil {
		s.Subject.Person = &schemas.Person{IDHash: l.Subject.Person.IDHash}
	}
	for _, rp := range l.Subject.ResponsiblePersons {
		s.Subject.ResponsiblePersons = append(s.Subject.ResponsiblePersons, schemas.ResponsiblePerson{Person: schemas.Person{IDHash: rp.Person.IDHash}})
	}
	for _, u := range l.UnderlyingDecisions {
		s.UnderlyingDecisions = append(s.UnderlyingDecisions, schemas.UnderlyingDecision{Kind: u.Kind, DocNo: u.DocNo, Date: u.Date})
	}
	return s
}

// conflicts runs conflict detection with eng (auditEngine; nil: none) at
// instant at.
func (fs *factSet) conflicts(eng *sanctions.Engine, at time.Time) []ConflictFinding {
	out := []ConflictFinding{}
	if eng == nil {
		return out
	}
	removed := fs.removedAt()
	bySubject := map[string][]sanctions.ListingHistory{}
	for k, l := range fs.slim {
		if rm, ok := removed[k]; ok && !rm.at.After(at) {
			continue
		}
		sk := l.Subject.USCC
		if l.Subject.Person != nil && l.Subject.Type == schemas.SubjectNaturalPerson {
			sk = l.Subject.Person.IDHash
		}
		bySubject[sk] = append(bySubject[sk], sanctions.ListingHistory{Ref: schemas.Ref{Origin: k.origin, Index: k.index}, Listing: l})
	}
	for _, hs := range bySubject {
		if len(hs) < 2 {
			continue
		}
		for _, c := range eng.DetectConflicts(hs, at) {
			f := ConflictFinding{Kind: c.Kind, Subject: c.Subject, Members: c.Members, Docs: c.Docs}
			for _, r := range c.Listings {
				f.Listings = append(f.Listings, key{r.Origin, r.Index}.String())
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b ConflictFinding) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Kind, b.Kind), cmp.Compare(strings.Join(a.Listings, ","), strings.Join(b.Listings, ",")))
	})
	return out
}

// auditEngine is a sanctions engine over the embedded measures catalogue,
// for what depends on the catalogue only (no agencies: it issues nothing).
func auditEngine(cal *workdays.Calendar) (*sanctions.Engine, error) {
	cat, err := catalogue.Default()
	if err != nil {
		return nil, err
	}
	issuer, err := schemas.CompleteUSCC("9111000000000000")
	if err != nil {
		return nil, err
	}
	return sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: sanctions.NoAgencies("110000"), Region: "110000", Issuer: issuer})
}

// notAppliedLoop counts, per member, the listings it issued no notice for
// that no member can apply under the measures catalogue (unknown
// programme, domain not the programme's, no measure for the subject's
// type), and names them (issue 12: visible, not silent). eng is
// auditEngine's (nil: none).
func (fs *factSet) notAppliedLoop(l *Loop, eng *sanctions.Engine) {
	l.Rules.NotApplied = []Finding{}
	if eng == nil || len(fs.slim) == 0 {
		return
	}
	issued := map[key]map[string]bool{} // listing -> member codes that issued a notice
	for _, n := range fs.notices {
		if issued[n.listing] == nil {
			issued[n.listing] = map[string]bool{}
		}
		issued[n.listing][codeOf(n.origin)] = true
	}
	keys := make([]key, 0, len(fs.slim))
	for k := range fs.slim {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.index, b.index)) })
	for _, k := range keys {
		reason := eng.CatalogueNotApplied(fs.slim[k])
		if reason == "" {
			continue
		}
		l.Rules.NotApplied = append(l.Rules.NotApplied, Finding{k.origin, k.index, "not_applied: " + reason})
		for i := range l.Members {
			if !issued[k][l.Members[i].Member] {
				l.Members[i].NotApplied++
			}
		}
	}
}
