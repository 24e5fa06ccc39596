package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
)

const fixture2027 = "../../sanctions/workdays/testdata/fixture_2027.yaml"

// Issue 12 item 4: "creditx workdays add 2026-12-28 10" failed ("no official
// holiday arrangement loaded for 2027"); it now answers, marked provisional,
// and exactly once the 2027 year file is given.
func TestWorkdaysAddIntoNextYear(t *testing.T) {
	out, err := runWorkdays(t, "add", "2026-12-28", "10")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "2027-01-11 provisional\n") || !strings.Contains(out, "no holiday calendar adopted after 2026") {
		t.Errorf("output:\n%s", out)
	}
	out, err = runWorkdays(t, "add", "2026-12-28", "10", "--year", fixture2027)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "2027-01-12\n") || strings.Contains(out, "provisional") || !strings.Contains(out, "2027-01-01..2027-01-03 holiday 元旦") {
		t.Errorf("with 2027 adopted:\n%s", out)
	}
	// Not a year after the calendar: a field error, nothing computed.
	if _, err := runWorkdays(t, "add", "2026-12-28", "10", "--year", fixture2027, "--year", fixture2027); err == nil || !strings.Contains(err.Error(), "year: 2027 is already covered") {
		t.Errorf("adding 2027 twice: %v", err)
	}
}

// creditx workdays adopt signs and submits a calendar_adopt record to a
// real node; the node then covers 2027 (GET /v1/calendar), and a second
// adoption of the same year is refused at admission with a field error.
func TestWorkdaysAdoptCLI(t *testing.T) {
	n, dir := startNode(t)
	admin := filepath.Join(dir, "agencies", "admin")
	out, err := run(t, "workdays", "adopt", fixture2027, "--admin", admin, "--node", n.URL())
	if err != nil || !strings.Contains(out, "calendar_adopt 2027") {
		t.Fatalf("adopt: %q %v", out, err)
	}
	creds, err := client.LoadCredentials(filepath.Join(dir, "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	var st node.CalendarState
	if err := creds.Get(t.Context(), n.URL()+"/v1/calendar", &st); err != nil || st.Covered[1] != 2027 || len(st.Adopted) != 1 {
		t.Fatalf("calendar after adoption: %+v %v", st, err)
	}
	_, err = run(t, "workdays", "adopt", fixture2027, "--admin", admin, "--node", n.URL())
	if err == nil || !strings.Contains(err.Error(), "calendar_adopt.year") || !strings.Contains(err.Error(), "already covered") {
		t.Fatalf("second adoption of 2027: %v", err)
	}
	if _, err := run(t, "workdays", "adopt", fixture2027, "--admin", admin); err == nil || !strings.Contains(err.Error(), "exactly one of --node and --out") {
		t.Fatalf("no destination: %v", err)
	}
}
