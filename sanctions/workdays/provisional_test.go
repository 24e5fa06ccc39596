package workdays

import (
	"errors"
	"os"
	"testing"
	"time"
)

func fixture2027(t *testing.T) Year {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture_2027.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y, err := ParseYear(b)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// Issue 12 item 4: "creditx workdays add 2026-12-28 10" failed for lack of
// a 2027 calendar. It now gives a provisional weekends-only date, and the
// exact date once 2027 is adopted.
func TestAddWorkdaysProvisionalAcrossYearEnd(t *testing.T) {
	cal, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	from := MustDate(2026, time.December, 28)
	var uy *UnknownYearError
	if _, err := cal.AddWorkdays(from, 10, ""); !errors.As(err, &uy) {
		t.Fatalf("strict AddWorkdays must still refuse to guess, got %v", err)
	}
	due, prov, err := cal.AddWorkdaysProvisional(from, 10, "")
	if err != nil || !prov || due != MustDate(2027, time.January, 11) {
		t.Fatalf("provisional: got %s %v %v, want 2027-01-11 provisional", due, prov, err)
	}
	// Inside the covered years nothing is provisional: 2026-12-17 + 10 = 2026-12-31.
	due, prov, err = cal.AddWorkdaysProvisional(MustDate(2026, time.December, 17), 10, "")
	if err != nil || prov || due != MustDate(2026, time.December, 31) {
		t.Fatalf("in-year: got %s %v %v", due, prov, err)
	}
	// Day N+1 crosses into 2027.
	due, prov, _ = cal.AddWorkdaysProvisional(MustDate(2026, time.December, 17), 11, "")
	if !prov || due != MustDate(2027, time.January, 1) {
		t.Fatalf("N+1: got %s %v", due, prov)
	}
	// The past is never guessed.
	if _, _, err := cal.AddWorkdaysProvisional(MustDate(2019, time.December, 30), 1, ""); !errors.As(err, &uy) {
		t.Fatalf("before first year: %v", err)
	}

	ext, err := cal.Extend(fixture2027(t))
	if err != nil {
		t.Fatal(err)
	}
	if cal.Covered()[1] != 2026 || ext.Covered()[1] != 2027 {
		t.Fatalf("Extend must not change the original: %v %v", cal.Covered(), ext.Covered())
	}
	// 2027-01-01..03 are days off: day 10 moves from 01-11 to 01-12.
	due, prov, err = ext.AddWorkdaysProvisional(from, 10, "")
	if err != nil || prov || due != MustDate(2027, time.January, 12) {
		t.Fatalf("after adoption: got %s %v %v, want 2027-01-12 final", due, prov, err)
	}
	strict, err := ext.AddWorkdays(from, 10, "")
	if err != nil || strict != due {
		t.Fatalf("strict after adoption: %s %v", strict, err)
	}
	// Boundary across the Spring Festival (02-06..02-13 off): 2027-02-04
	// (Thu) + 1 = 02-05, + 2 = 02-15; and 2027-01-29 (Fri) + 1 = 01-31
	// (Sunday worked).
	for _, c := range []struct {
		from Date
		n    int
		want Date
	}{
		{MustDate(2027, time.February, 4), 1, MustDate(2027, time.February, 5)},
		{MustDate(2027, time.February, 4), 2, MustDate(2027, time.February, 15)},
		{MustDate(2027, time.January, 29), 1, MustDate(2027, time.January, 31)},
	} {
		if got, _, _ := ext.AddWorkdaysProvisional(c.from, c.n, ""); got != c.want {
			t.Errorf("%s + %d = %s, want %s", c.from, c.n, got, c.want)
		}
	}
	n, prov, err := ext.WorkdaysBetweenProvisional(from, MustDate(2028, time.January, 3), "")
	if err != nil || !prov || n <= 0 {
		t.Fatalf("between into 2028: %d %v %v", n, prov, err)
	}
}

func TestExtendRefusesBadYears(t *testing.T) {
	cal, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	good := fixture2027(t)
	cases := map[string]struct {
		mut  func(y *Year)
		path string
	}{
		"gap":            {func(y *Year) { y.Year = 2028 }, "year"},
		"covered":        {func(y *Year) { y.Year = 2026 }, "year"},
		"no notice":      {func(y *Year) { y.Notice = "" }, "notice"},
		"span outside":   {func(y *Year) { y.Holidays[1].To = MustDate(2028, time.January, 2) }, "holidays[1].to"},
		"weekday worked": {func(y *Year) { y.Workdays[0].Date = MustDate(2027, time.February, 3) }, "workdays[0].date"},
		"unknown for":    {func(y *Year) { y.Workdays[1].For = "国庆节" }, "workdays[1].for"},
		"duplicate":      {func(y *Year) { y.Workdays[0].Date = MustDate(2027, time.January, 2) }, "workdays[0].date"},
	}
	for name, c := range cases {
		y := good
		y.Holidays = append([]Span(nil), good.Holidays...)
		y.Workdays = append([]Adjusted(nil), good.Workdays...)
		c.mut(&y)
		_, err := cal.Extend(y)
		var de *DataError
		if !errors.As(err, &de) || de.Path != c.path {
			t.Errorf("%s: got %v, want a DataError at %s", name, err, c.path)
		}
	}
}
