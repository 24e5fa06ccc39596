package sanctions

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/schemas"
)

// Conflict kinds.
const (
	// ConflictSameAct: one subject listed more than once for one act, by
	// several members (or twice by one): the listings share a decision
	// document number or an underlying decision's document number.
	ConflictSameAct = "same_act"
	// ConflictRedAndBlack: one subject on a red list and a black list at
	// the same time.
	ConflictRedAndBlack = "red_and_black"
)

// Conflict is a set of listings in force that contradict or duplicate each
// other. It is reported, never resolved here: the listing authorities decide.
type Conflict struct {
	Kind     string
	Subject  string        // USCC, or id_hash of a listed natural person
	Listings []schemas.Ref // ordered by origin and index
	Members  []string      // regions of the ledgers they are published in, sorted, distinct
	// Docs are the shared document numbers (same_act) or the red-list
	// programme codes (red_and_black), sorted.
	Docs []string
}

// DetectConflicts returns the conflicts among the listings in force at at
// (active or suspended; removed, withdrawn and expired ones no longer
// conflict), ordered by subject, then same_act before red_and_black, then
// by first listing. A programme is red if the catalogue marks it red: true;
// every other listing, recognised or not, counts as a black-list entry.
// Document numbers are compared after trimming surrounding spaces,
// otherwise exactly. A conflict has two listings or more, so one listing
// alone has none (TestDetectConflicts); conflicts.Reindex relies on it.
func (e *Engine) DetectConflicts(listings []ListingHistory, at time.Time) []Conflict {
	if len(listings) < 2 {
		return nil // every conflict names two listings or more (most checks: none or one)
	}
	type entry struct {
		ref  schemas.Ref
		l    *schemas.Listing
		red  bool
		docs []string
	}
	bySubject := map[string][]entry{}
	for _, h := range listings {
		st, err := e.state(h, at, false)
		if err != nil || st.State != StateActive && st.State != StateSuspended {
			continue
		}
		l := st.Listing
		key := l.Subject.USCC
		if l.Subject.Type == schemas.SubjectNaturalPerson && l.Subject.Person != nil {
			key = l.Subject.Person.IDHash
		}
		if key == "" {
			continue
		}
		p, ok := e.cfg.Catalogue.Programme(l.Programme.Code)
		en := entry{ref: h.Ref, l: l, red: ok && p.Red}
		if d := strings.TrimSpace(l.Decision.DocNo); d != "" {
			en.docs = append(en.docs, d)
		}
		for _, u := range l.UnderlyingDecisions {
			if d := strings.TrimSpace(u.DocNo); d != "" {
				en.docs = append(en.docs, d)
			}
		}
		bySubject[key] = append(bySubject[key], en)
	}
	var out []Conflict
	for _, key := range sortedKeys(bySubject) {
		es := bySubject[key]
		slices.SortFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(a.ref.Origin, b.ref.Origin), cmp.Compare(a.ref.Index, b.ref.Index))
		})
		es = slices.CompactFunc(es, func(a, b entry) bool { return a.ref == b.ref })
		make1 := func(kind string, members []entry, docs []string) Conflict {
			c := Conflict{Kind: kind, Subject: key}
			for _, m := range members {
				c.Listings = append(c.Listings, m.ref)
				c.Members = append(c.Members, m.l.Region)
			}
			slices.Sort(c.Members)
			c.Members = slices.Compact(c.Members)
			slices.Sort(docs)
			c.Docs = slices.Compact(docs)
			return c
		}
		// same_act: connected components of black listings sharing a document.
		var black []entry
		for _, en := range es {
			if !en.red {
				black = append(black, en)
			}
		}
		comp := make([]int, len(black))
		for i := range comp {
			comp[i] = i
		}
		var find func(int) int
		find = func(i int) int {
			for comp[i] != i {
				i = comp[i]
			}
			return i
		}
		shared := map[int][]string{}
		for i := range black {
			for j := i + 1; j < len(black); j++ {
				for _, d := range black[i].docs {
					if slices.Contains(black[j].docs, d) {
						ri, rj := find(i), find(j)
						if ri != rj {
							comp[max(ri, rj)] = min(ri, rj)
						}
						shared[i] = append(shared[i], d)
					}
				}
			}
		}
		for root := range black {
			if find(root) != root {
				continue
			}
			var members []entry
			var docs []string
			for i := range black {
				if find(i) == root {
					members = append(members, black[i])
					docs = append(docs, shared[i]...)
				}
			}
			if len(members) > 1 {
				out = append(out, make1(ConflictSameAct, members, docs))
			}
		}
		// red_and_black: every red and black listing of the subject.
		var reds []string
		for _, en := range es {
			if en.red {
				reds = append(reds, en.l.Programme.Code)
			}
		}
		if len(reds) > 0 && len(black) > 0 {
			out = append(out, make1(ConflictRedAndBlack, es, reds))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
