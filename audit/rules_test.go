package audit

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Issue 12 item 3: the 7-working-day publication rule and the 3-working-day
// withdrawal duty after decision_revoked were never checked. Each is judged
// at its boundary (day N in time, N+1 late) across a holiday, with the
// late entries named; a calendar year adopted on the ledger is used.
func TestRulesWithNumbers(t *testing.T) {
	const sh = "creditx.310000/ledger"
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	date := func(s string) schemas.Date {
		tm, _ := time.Parse("2006-01-02", s)
		return schemas.Date{Time: tm}
	}
	listing := func(decided, created string) *schemas.Listing {
		return &schemas.Listing{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at(created + " 10:00"))},
			Domain: "environment", Programme: schemas.Programme{Code: "ZJ-ENV-SEVERE"}, Subject: schemas.Subject{Type: "enterprise", USCC: "A"},
			Decision: schemas.DocRef{DocNo: "D", Date: date(decided)}, PublicityEnd: date("2029-01-01")}
	}
	revoke := func(listing uint64, revoked, created string) *schemas.Repair {
		return &schemas.Repair{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at(created + " 10:00"))},
			Listing: schemas.Ref{Origin: sh, Index: listing}, Type: "decision_revoked",
			Decision: schemas.RepairDecision{Date: date(revoked)}, Effects: []string{"annotate"}}
	}
	withdraw := func(listing uint64, created string) *schemas.Correction {
		return &schemas.Correction{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at(created + " 10:00"))},
			Target: schemas.Ref{Origin: sh, Index: listing}, Action: "withdraw"}
	}
	fs := newFactSet()
	// Qingming 2026-04-04..06: 7 working days after Wed 04-01 end Mon 04-13.
	fs.add(sh, 0, listing("2026-04-01", "2026-04-13")) // day N: in time
	fs.add(sh, 1, listing("2026-04-01", "2026-04-14")) // day N+1: late
	// Labour Day 05-01..05-05: 3 working days after Thu 04-30 end Fri 05-08.
	fs.add(sh, 2, revoke(0, "2026-04-30", "2026-04-30"))
	fs.add(sh, 3, withdraw(0, "2026-05-08")) // in time
	fs.add(sh, 4, revoke(1, "2026-04-30", "2026-04-30"))
	fs.add(sh, 5, withdraw(1, "2026-05-11")) // late (N+1 and beyond)
	fs.add(sh, 6, listing("2026-04-01", "2026-04-02"))
	fs.add(sh, 7, revoke(6, "2026-05-06", "2026-05-06")) // never withdrawn: overdue (due Sat 05-09, a day worked for Labour Day)
	// Day N+1 exactly: Saturday 05-09, a day worked for Labour Day.
	fs.add(sh, 13, listing("2026-04-01", "2026-04-02"))
	fs.add(sh, 14, revoke(13, "2026-04-30", "2026-04-30"))
	fs.add(sh, 15, withdraw(13, "2026-05-09"))
	// Across the year end: decided 2026-12-28, published 2027-01-07: 8
	// working days on weekends only, 7 once 2027 (01-01..03 off) is adopted.
	fs.add(sh, 8, listing("2026-12-28", "2027-01-07"))

	// A notice issued 2026-12-20 with the provisional deadline 2027-01-01
	// (weekends only), answered 2027-01-04: late until 2027 is adopted, in
	// time after (01-01..03 off: the 10th working day is 01-04).
	fs.add(sh, 10, &schemas.SanctionNotice{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at("2026-12-20 10:00"))},
		Listing: schemas.Ref{Origin: sh, Index: 6}, ExecutingAgency: schemas.ExecutingAgency{USCC: "E"},
		Start: date("2026-12-20"), End: date("2029-01-01"), FeedbackDue: date("2027-01-01"), FeedbackDueProvisional: true})
	fs.add(sh, 11, &schemas.Feedback{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at("2027-01-04 10:00"))},
		Notice: schemas.Ref{Origin: sh, Index: 10}, Agency: schemas.Agency{USCC: "E"}})

	// A listing under a programme no catalogue knows: not_applied, named,
	// counted for the member that issued nothing for it.
	fs.add(sh, 12, &schemas.Listing{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at("2026-04-02 10:00"))},
		Domain: "environment", Programme: schemas.Programme{Code: "XX-UNKNOWN"}, Subject: schemas.Subject{Type: "enterprise", USCC: "B"}, PublicityEnd: date("2029-01-01")})

	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{At: at("2027-02-01 10:00"), Calendar: cal, ObjectionWorkdays: 10}
	lp := fs.loop(opts, []string{sh})
	if m := lp.Members[0]; m.Late != 1 || m.InTime != 0 || lp.Rules.ProvisionalNotices != 1 {
		t.Fatalf("provisional notice before adoption: %+v", m)
	}
	if na := lp.Rules.NotApplied; len(na) != 1 || na[0].Index != 12 || !strings.Contains(na[0].What, "XX-UNKNOWN") || lp.Members[0].NotApplied != 1 {
		t.Fatalf("not_applied: %+v, member %+v", na, lp.Members[0])
	}
	r := lp.Rules
	if r.Published != 5 || r.PublishedInTime != 3 || len(r.PublishedLate) != 2 || r.PublishedLate[0].Index != 1 || r.PublishedLate[1].Index != 8 || r.PublishedProvisional != 1 {
		t.Fatalf("publication without 2027: %+v", r)
	}
	if !strings.Contains(r.PublishedLate[0].What, "8 working days") {
		t.Errorf("late listing not explained: %q", r.PublishedLate[0].What)
	}
	if r.Revoked != 4 || r.WithdrawnInTime != 1 || len(r.WithdrawnLate) != 2 || r.WithdrawnLate[0].Index != 1 || r.WithdrawnLate[1].Index != 13 ||
		len(r.WithdrawalOverdue) != 1 || r.WithdrawalOverdue[0].Index != 6 {
		t.Fatalf("withdrawal: %+v", r)
	}

	// Every listing names subject A under decision D: 0 and 1 were withdrawn,
	// 6 and 8 are in force together: one same_act conflict.
	if len(r.Conflicts) != 1 || r.Conflicts[0].Kind != "same_act" || strings.Join(r.Conflicts[0].Listings, " ") != sh+"#6 "+sh+"#8" {
		t.Fatalf("conflicts: %+v", r.Conflicts)
	}

	// The 2027 calendar adopted on the ledger.
	b, err := os.ReadFile("../sanctions/workdays/testdata/fixture_2027.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y, err := workdays.ParseYear(b)
	if err != nil {
		t.Fatal(err)
	}
	ca := sanctions.CalendarAdoptOf(y)
	fs.add(sh, 9, &schemas.Governance{Header: schemas.Header{Region: "310000", CreatedAt: schemas.NewTime(at("2026-12-01 10:00"))},
		Action: schemas.ActionCalendarAdopt, CalendarAdopt: ca})
	lp = fs.loop(opts, []string{sh})
	if m := lp.Members[0]; m.Late != 0 || m.InTime != 1 {
		t.Fatalf("provisional notice after adoption: %+v", m)
	}
	r = lp.Rules
	if len(r.PublishedLate) != 1 || r.PublishedProvisional != 0 || len(r.Calendar) != 1 || !strings.Contains(r.Calendar[0].What, "calendar 2027 adopted") {
		t.Fatalf("publication with 2027 adopted: %+v", r)
	}

	rep := &Report{At: opts.At, Loop: fs.loop(opts, []string{sh})}
	var text, html strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"publication within 7 working days", "withdrawal within 3 working days", sh + "#1 published 8 working days", "calendar 2027 adopted", "same_act subject A", "not_applied: programme XX-UNKNOWN"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(html.String(), "published within 7 working days") || !strings.Contains(html.String(), "not withdrawn, due 2026-05-09") {
		t.Errorf("HTML report lacks the rules section")
	}
}
