package audit

import (
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// TestLoopRules feeds records straight to the closed-loop analysis and
// checks each rule's finding against dates worked out by hand (March 2026
// has no PRC holidays; 2026-03-02 is a Monday).
func TestLoopRules(t *testing.T) {
	const sh, js = "creditx.310000/ledger", "creditx.320000/ledger"
	d0 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) // 10:00 CST, Monday
	date := func(days int) schemas.Date {
		t := d0.AddDate(0, 0, days)
		return schemas.NewDate(t.Year(), t.Month(), t.Day())
	}
	hdr := func(days int) schemas.Header {
		return schemas.Header{CreatedAt: schemas.NewTime(d0.AddDate(0, 0, days)), Region: "310000"}
	}
	ref := func(o string, i uint64) schemas.Ref { return schemas.Ref{Origin: o, Index: i} }
	listing := func(days, endDays int, uscc string) *schemas.Listing {
		return &schemas.Listing{Header: hdr(days), Domain: "environment", Subject: schemas.Subject{Type: "enterprise", Name: "X", USCC: uscc}, PublicityEnd: date(endDays)}
	}
	notice := func(days int, l schemas.Ref, appliesTo, basis string) *schemas.SanctionNotice {
		return &schemas.SanctionNotice{Header: hdr(days), Listing: l, Measure: schemas.Measure{AppliesTo: []string{appliesTo}, LegalBasis: basis},
			ExecutingAgency: schemas.ExecutingAgency{USCC: "E"}, Start: date(days), End: date(days + 3*365), FeedbackDue: date(days + 10)}
	}
	fs := newFactSet()
	fs.add(sh, 0, listing(0, 10, "A"))                     // expires day 10
	fs.add(js, 0, notice(0, ref(sh, 0), "enterprise", "")) // runs 3 years: not lifted
	fs.add(sh, 1, listing(0, 1000, "B"))                   // removed on day 5
	fs.add(sh, 2, &schemas.Repair{Header: hdr(5), Listing: ref(sh, 1), Effects: []string{"remove"}})
	fs.add(sh, 3, listing(6, 1000, "B"))                   // same subject and domain: re-inserted
	fs.add(js, 1, notice(7, ref(sh, 1), "enterprise", "")) // notice after removal
	fs.add(sh, 4, &schemas.Objection{Header: hdr(0), Target: ref(sh, 3), FiledAt: schemas.NewTime(d0)})
	fs.add(sh, 5, &schemas.ObjectionDecision{Header: hdr(18), Objection: ref(sh, 4), Decision: "rejected", DecidedAt: schemas.NewTime(d0.AddDate(0, 0, 18))})
	fs.add(sh, 6, &schemas.Objection{Header: hdr(0), Target: ref(sh, 3), FiledAt: schemas.NewTime(d0)})
	fs.add(js, 2, notice(8, ref(sh, 3), "responsible_persons", "")) // on persons, no legal basis
	fs.add(js, 3, notice(8, ref(sh, 3), "responsible_persons", "某法第一条"))
	fs.add(js, 4, &schemas.Feedback{Header: hdr(9), Notice: ref(js, 3), Agency: schemas.Agency{USCC: "E"}})

	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	at := d0.AddDate(0, 0, 60)
	l := fs.loop(Options{At: at, Calendar: cal, ObjectionWorkdays: 10, MaxListingDetail: 10}, []string{sh, js})

	if l.Expired != 1 || l.ExpiredLifted != 0 || len(l.ExpiredNotLifted) != 1 || l.ExpiredNotLifted[0].Origin != js || l.ExpiredNotLifted[0].Index != 0 {
		t.Errorf("expiry: %d expired, %d lifted, not lifted %+v", l.Expired, l.ExpiredLifted, l.ExpiredNotLifted)
	}
	want := []Finding{{Origin: sh, Index: 3}, {Origin: js, Index: 1}}
	if l.Removed != 1 || len(l.ReInserted) != 2 {
		t.Fatalf("removal: %d removed, re-inserted %+v", l.Removed, l.ReInserted)
	}
	for _, w := range want {
		found := false
		for _, f := range l.ReInserted {
			found = found || f.Origin == w.Origin && f.Index == w.Index
		}
		if !found {
			t.Errorf("re-insertion at %s#%d not found in %+v", w.Origin, w.Index, l.ReInserted)
		}
	}
	// due: 10 working days after Monday 2026-03-02 is Monday 2026-03-16
	if o := l.Objections; o.Filed != 2 || o.Late != 1 || o.Overdue != 1 || o.InTime != 0 {
		t.Errorf("objections %+v, want 2 filed, 1 late, 1 overdue", o)
	}
	foundObj := false
	for _, it := range l.OverdueItems {
		if it.Origin == sh && it.Index == 6 {
			foundObj = true
			if it.Due != "2026-03-16" || it.Days != 46 {
				t.Errorf("overdue objection: due %s, %d days; want 2026-03-16, 46 (to 2026-05-01)", it.Due, it.Days)
			}
		}
	}
	if !foundObj {
		t.Errorf("undecided objection not in overdue items: %+v", l.OverdueItems)
	}
	if l.PersonMeasures != 2 || len(l.PersonNoBasis) != 1 || l.PersonNoBasis[0].Index != 2 {
		t.Errorf("persons: %d measures, without basis %+v", l.PersonMeasures, l.PersonNoBasis)
	}
	var jsMember MemberLoop
	for _, m := range l.Members {
		if m.Member == "320000" {
			jsMember = m
		}
	}
	// 320000: four notices on three listings; one answered in time (day 9
	// <= due day 18); the one on the listing removed on day 5 owes no
	// feedback (lifted); two overdue; first notices 0, 7 and 2 days after
	// their listings.
	if jsMember.Notices != 4 || jsMember.InTime != 1 || jsMember.Overdue != 2 || jsMember.Lifted != 1 || jsMember.Reached != 3 ||
		jsMember.LagMax != 7*86400 || jsMember.LagP50 != 2*86400 {
		t.Errorf("member 320000: %+v", jsMember)
	}
}
