package sanctions

import "testing"

// BenchmarkCheck is one pre-approval check of an enterprise listed by two
// members, one of them with a pending objection (the hot path of P3).
func BenchmarkCheck(b *testing.B) {
	e := newEngine(b)
	ZJ, SH, O := ref("330000", 10), ref("330000", 4), ref("330000", 11)
	tour := envListing("2026-03-02")
	tour.Region, tour.Domain, tour.Programme.Code = "310000", "tourism", "SH-TOUR-BLACKLIST"
	hs := []ListingHistory{
		{Ref: ZJ, Listing: envListing("2026-03-02"), Events: []Event{objection(O, ZJ, "2026-03-10 10:00")}},
		{Ref: SH, Listing: tour},
	}
	when := at("2026-03-11 09:00")
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.Check(usccHZChem, "procurement", hs, when)
		if err != nil || res.Allowed {
			b.Fatal(err, res.Allowed)
		}
	}
}

// BenchmarkNoticesFor issues the 18 notices of a food and drug listing,
// validating each.
func BenchmarkNoticesFor(b *testing.B) {
	e := newEngine(b)
	l := foodListing("2026-03-02")
	when := at("2026-03-02 10:00")
	b.ReportAllocs()
	for b.Loop() {
		ns, err := e.NoticesFor(l, ref("330000", 1), when)
		if err != nil || len(ns) != 18 {
			b.Fatal(err, len(ns))
		}
	}
}

// BenchmarkState derives a status with one decided objection and its five
// deadlines.
func BenchmarkState(b *testing.B) {
	e := newEngine(b)
	L, O := ref("330000", 10), ref("330000", 11)
	h := ListingHistory{Ref: L, Listing: envListing("2026-03-02"),
		Events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "rejected")}}
	when := at("2026-04-01 09:00")
	b.ReportAllocs()
	for b.Loop() {
		if st, err := e.State(h, when); err != nil || len(st.Deadlines) != 5 {
			b.Fatal(err)
		}
	}
}
