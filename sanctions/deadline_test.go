package sanctions

import (
	"os"
	"testing"

	"github.com/creditx/creditx/sanctions/workdays"
)

// Issue 12 item 4: a node whose clock is 2026-12-20 must issue notices (it
// refused: no 2027 calendar), with provisional deadlines, recomputed exactly
// once 2027 is adopted.
func TestNoticesForProvisionalDeadline(t *testing.T) {
	e := newEngine(t)
	l := envListing("2026-12-20") // a Sunday: 10 working days end in 2027
	ns, err := e.NoticesFor(l, ref("330000", 1), at("2026-12-20 10:00"))
	if err != nil || len(ns) == 0 {
		t.Fatalf("NoticesFor: %v, %d notices", err, len(ns))
	}
	for _, n := range ns {
		if !n.FeedbackDueProvisional || n.FeedbackDue.String() != "2027-01-01" {
			t.Fatalf("notice due %s provisional=%v, want 2027-01-01 provisional (weekends only)", n.FeedbackDue, n.FeedbackDueProvisional)
		}
	}
	// Day N and N+1 at the year's edge: listed 2026-12-17 (10 working days
	// end 2026-12-31: final) and 2026-12-18 (2027-01-01: provisional).
	for _, c := range []struct {
		listed, due string
		prov        bool
	}{{"2026-12-17", "2026-12-31", false}, {"2026-12-18", "2027-01-01", true}} {
		ns, err := e.NoticesFor(envListing(c.listed), ref("330000", 1), at(c.listed+" 10:00"))
		if err != nil || len(ns) == 0 || ns[0].FeedbackDue.String() != c.due || ns[0].FeedbackDueProvisional != c.prov {
			t.Errorf("listed %s: %v %d notices, want due %s provisional=%v", c.listed, err, len(ns), c.due, c.prov)
		}
	}

	b, err := os.ReadFile("workdays/testdata/fixture_2027.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y, err := workdays.ParseYear(b)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.Calendar().Extend(y)
	if err != nil {
		t.Fatal(err)
	}
	e27 := e.WithCalendar(ext)
	if e.Calendar().Covered()[1] != 2026 {
		t.Fatal("WithCalendar changed the original engine")
	}
	for _, n := range ns {
		due, prov, err := e27.RecomputeFeedbackDue(l, n)
		// 2027-01-01..03 are days off in the adopted year: the 10th working day is 01-04.
		if err != nil || prov || due.String() != "2027-01-04" {
			t.Fatalf("recomputed %s provisional=%v %v, want 2027-01-04 final", due, prov, err)
		}
		// Recomputing under the old calendar reproduces the notice.
		due, prov, _ = e.RecomputeFeedbackDue(l, n)
		if due != n.FeedbackDue || !prov {
			t.Fatalf("recompute under the issuing calendar: %s %v, notice says %s", due, prov, n.FeedbackDue)
		}
	}
	// Issuing with the adopted year gives the final date directly.
	ns, err = e27.NoticesFor(l, ref("330000", 1), at("2026-12-20 10:00"))
	if err != nil || ns[0].FeedbackDueProvisional || ns[0].FeedbackDue.String() != "2027-01-04" {
		t.Fatalf("with 2027 adopted: %v %s %v", err, ns[0].FeedbackDue, ns[0].FeedbackDueProvisional)
	}
}
