package sanctions

import (
	"testing"

	"github.com/creditx/creditx/schemas"
)

// Issue 12 item 2: listings that can yield no joint punishment as filed got
// OK receipts and zero notices. Each is now a named field problem; the
// programme's publicity maximum is enforced at its boundary.
func TestAdmissibleListings(t *testing.T) {
	e := newEngine(t)
	now := at("2026-06-01 10:00")
	if ps := e.Admissible(envListing("2026-05-04"), now); len(ps) != 0 {
		t.Fatalf("a valid environment listing: %+v", ps)
	}
	if ps := e.Admissible(guideListing("2026-05-04"), now); len(ps) != 0 {
		t.Fatalf("a valid tourism listing of a natural person: %+v", ps)
	}
	cases := []struct {
		name  string
		mut   func(l *schemas.Listing)
		field string
	}{
		{"unknown programme", func(l *schemas.Listing) { l.Programme.Code = "ZJ-NOPE" }, "programme.code"},
		{"tourism under environment", func(l *schemas.Listing) { l.Domain = "tourism" }, "domain"},
		{"listed in 2099", func(l *schemas.Listing) {
			l.ListedOn = schemas.NewDate(2099, 1, 1)
			l.PublicityEnd = schemas.NewDate(2100, 1, 1)
		}, "listed_on"},
		{"listed in 1900", func(l *schemas.Listing) {
			l.ListedOn = schemas.NewDate(1900, 1, 1)
			l.PublicityEnd = schemas.NewDate(1901, 1, 1)
		}, "listed_on"}, // before its decision
		{"created in the future", func(l *schemas.Listing) { l.CreatedAt = schemas.NewTime(now.AddDate(0, 0, 2)) }, "created_at"},
		{"publicity to 2099", func(l *schemas.Listing) { l.PublicityEnd = schemas.NewDate(2099, 12, 31) }, "publicity_end"},
		{"environment 5 years + 1 day", func(l *schemas.Listing) { l.PublicityEnd = schemas.Date{Time: l.ListedOn.AddDate(5, 0, 1)} }, "publicity_end"},
		{"publicity already past", func(l *schemas.Listing) { l.PublicityEnd = schemas.NewDate(2026, 5, 31) }, "publicity_end"},
	}
	for _, c := range cases {
		l := envListing("2026-05-04")
		c.mut(l)
		ps := e.Admissible(l, now)
		found := false
		for _, p := range ps {
			found = found || p.Field == c.field
		}
		if !found {
			t.Errorf("%s: problems %+v, want one on %s", c.name, ps, c.field)
		}
	}
	// Boundary: environment allows exactly 60 months (day N), not N+1.
	l := envListing("2026-05-04")
	l.PublicityEnd = schemas.Date{Time: l.ListedOn.AddDate(5, 0, 0)}
	if ps := e.Admissible(l, now); len(ps) != 0 {
		t.Errorf("publicity of exactly 60 months refused: %+v", ps)
	}
	// Tourism: 24 months, and 24 months + 1 day is refused.
	g := guideListing("2026-05-04")
	g.PublicityEnd = schemas.Date{Time: g.ListedOn.AddDate(2, 0, 0)}
	if ps := e.Admissible(g, now); len(ps) != 0 {
		t.Errorf("tourism 24 months refused: %+v", ps)
	}
	g.PublicityEnd = schemas.Date{Time: g.ListedOn.AddDate(2, 0, 1)}
	if ps := e.Admissible(g, now); len(ps) != 1 || ps[0].Field != "publicity_end" {
		t.Errorf("tourism 24 months + 1 day: %+v", ps)
	}
}
