package sanctions

import (
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

func TestLifecycle(t *testing.T) {
	L := ref("330000", 10) // the listing, listed 2026-03-02, public until 2031-03-01
	O := ref("330000", 11) // an objection
	other := ref("330000", 99)
	amended := envListing("2026-03-02")
	amended.PublicityEnd = day("2032-03-01")
	otherAuthority := envListing("2026-03-02")
	otherAuthority.Authority.USCC = usccJSEnv

	type want struct {
		state                string
		disclosed, restricts bool
		ignored              string // substring of the only Ignored reason, "" for none
	}
	tests := []struct {
		name     string
		listing  func(*schemas.Listing)
		events   []Event
		at       string
		suspend  bool // Config.SuspendMeasuresOnObjection
		want     want
		wantStep string // substring of the last Trail effect
	}{
		{name: "before the record existed", at: "2026-03-02 08:59",
			want: want{state: StateNotYetListed}},
		{name: "listed", at: "2026-03-02 09:00",
			want: want{state: StateActive, disclosed: true, restricts: true}},
		{name: "created before listed_on", at: "2026-03-04 12:00",
			listing: func(l *schemas.Listing) { l.ListedOn = day("2026-03-05") },
			want:    want{state: StateNotYetListed}},
		{name: "disclosure none", at: "2026-03-10 12:00",
			listing: func(l *schemas.Listing) { l.Disclosure = "none" },
			want:    want{state: StateActive, restricts: true}},
		{name: "objection pending: suspended, undisclosed, measures stay", at: "2026-03-11 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00")},
			want:   want{state: StateSuspended, restricts: true}, wantStep: "objection marked"},
		{name: "objection pending, measures suspended by config", at: "2026-03-11 12:00", suspend: true,
			events: []Event{objection(O, L, "2026-03-10 10:00")},
			want:   want{state: StateSuspended}},
		{name: "objection not yet filed at the instant asked", at: "2026-03-10 09:59",
			events: []Event{objection(O, L, "2026-03-10 10:00")},
			want:   want{state: StateActive, disclosed: true, restricts: true}},
		{name: "rejected: disclosure resumes", at: "2026-03-16 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "rejected")},
			want:   want{state: StateActive, disclosed: true, restricts: true}, wantStep: "objection rejected"},
		{name: "upheld with remove: removed", at: "2026-03-16 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "upheld", "remove")},
			want:   want{state: StateRemoved}, wantStep: "removed"},
		{name: "partial with stop_disclosure: measures stay, hidden", at: "2026-03-16 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "partial", "stop_disclosure")},
			want:   want{state: StateActive, restricts: true}, wantStep: "disclosure stopped"},
		{name: "second decision ignored", at: "2026-03-18 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "rejected"),
				decision(ref("330000", 13), O, "2026-03-17 09:00", "upheld", "remove")},
			want: want{state: StateActive, disclosed: true, restricts: true, ignored: "already decided (rejected)"}},
		{name: "decision of an unknown objection ignored", at: "2026-03-18 12:00",
			events: []Event{decision(ref("330000", 12), other, "2026-03-16 09:00", "upheld", "remove")},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "not in this listing's history"}},
		{name: "objection against another entry ignored", at: "2026-03-18 12:00",
			events: []Event{objection(O, other, "2026-03-10 10:00")},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "not this listing"}},
		{name: "objection with the right index but another hash ignored", at: "2026-03-18 12:00",
			events: []Event{objection(O, schemas.Ref{Origin: L.Origin, Index: L.Index, Hash: other.Hash}, "2026-03-10 10:00")},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "not this listing"}},
		{name: "early repair by the listing authority", at: "2027-04-10 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "early_repair", usccZJEnv, "2027-03-02", "remove")},
			want:   want{state: StateRemoved}, wantStep: "removed"},
		{name: "repair by another authority: reported, not applied", at: "2027-04-10 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "early_repair", usccJSEnv, "2027-03-02", "remove")},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "not by the listing authority"}},
		{name: "early repair before the minimum period", at: "2027-04-10 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "early_repair", usccZJEnv, "2027-03-01", "remove")},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "minimum period of 12 months ends on 2027-03-02"}},
		{name: "early repair on a programme without it", at: "2027-04-10 12:00",
			listing: func(l *schemas.Listing) { l.Domain, l.Programme.Code = "food_drug", "JS-FOOD-DRUG-SEVERE" },
			events:  []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "early_repair", usccZJEnv, "2027-03-02", "remove")},
			want:    want{state: StateActive, disclosed: true, restricts: true, ignored: "does not allow early repair"}},
		{name: "repair with stop_publicity only", at: "2027-04-10 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "error_correction", usccZJEnv, "", "stop_publicity", "annotate")},
			want:   want{state: StateActive, restricts: true}, wantStep: "publicity stopped"},
		{name: "last day of publicity", at: "2031-03-01 23:59",
			want: want{state: StateActive, disclosed: true, restricts: true}},
		{name: "expired: no action needed", at: "2031-03-02 00:00",
			want: want{state: StateExpired}},
		{name: "expired with an objection pending", at: "2031-03-02 00:00",
			events: []Event{objection(O, L, "2031-02-27 10:00")},
			want:   want{state: StateExpired}},
		{name: "withdrawn", at: "2026-04-01 12:00",
			events: []Event{withdraw(ref("330000", 30), L, "2026-04-01 09:00")},
			want:   want{state: StateWithdrawn}, wantStep: "withdrawn"},
		{name: "amendment extends publicity", at: "2031-06-01 12:00",
			events: []Event{amend(t, ref("330000", 30), L, "2027-01-05 09:00", amended)},
			want:   want{state: StateActive, disclosed: true, restricts: true}, wantStep: "amended"},
		{name: "removed cannot come back through an amendment", at: "2027-06-01 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "early_repair", usccZJEnv, "2027-03-02", "remove"),
				amend(t, ref("330000", 30), L, "2027-05-05 09:00", amended)},
			want: want{state: StateRemoved, ignored: "cannot come back without a new decision"}, wantStep: "removed"},
		{name: "removed, then a second repair is ignored", at: "2027-06-01 12:00",
			events: []Event{objection(O, L, "2026-03-10 10:00"), decision(ref("330000", 12), O, "2026-03-16 09:00", "upheld", "remove"),
				repair(ref("330000", 20), L, "2027-04-10 09:00", "objection_upheld", usccZJEnv, "", "remove")},
			want: want{state: StateRemoved, ignored: "already removed"}},
		{name: "removed listing withdrawn", at: "2027-06-01 12:00",
			events: []Event{repair(ref("330000", 20), L, "2027-04-10 09:00", "decision_revoked", usccZJEnv, "", "remove"),
				withdraw(ref("330000", 30), L, "2027-05-05 09:00")},
			want: want{state: StateWithdrawn}, wantStep: "withdrawn"},
		{name: "amendment cannot change the authority", at: "2026-06-01 12:00",
			events: []Event{amend(t, ref("330000", 30), L, "2026-05-05 09:00", otherAuthority)},
			want:   want{state: StateActive, disclosed: true, restricts: true, ignored: "cannot change the listing authority"}},
		{name: "red list never restricts", at: "2026-06-01 12:00",
			listing: func(l *schemas.Listing) { l.Programme.Code = "ZJ-ENV-RED" },
			want:    want{state: StateActive, disclosed: true}},
		{name: "events applied in created_at order, not slice order", at: "2026-03-16 12:00",
			events: []Event{decision(ref("330000", 12), O, "2026-03-16 09:00", "upheld", "remove"), objection(O, L, "2026-03-10 10:00")},
			want:   want{state: StateRemoved}, wantStep: "removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, func(c *Config) { c.SuspendMeasuresOnObjection = tt.suspend })
			l := envListing("2026-03-02")
			if tt.listing != nil {
				tt.listing(l)
			}
			st, err := e.State(ListingHistory{Ref: L, Listing: l, Events: tt.events}, at(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			got := want{state: st.State, disclosed: st.Disclosed, restricts: st.Restricts}
			if len(st.Ignored) == 1 {
				got.ignored = st.Ignored[0].Reason
			} else if len(st.Ignored) > 1 {
				t.Errorf("%d ignored events: %+v", len(st.Ignored), st.Ignored)
			}
			if got.state != tt.want.state || got.disclosed != tt.want.disclosed || got.restricts != tt.want.restricts ||
				!strings.Contains(got.ignored, tt.want.ignored) || (tt.want.ignored == "") != (got.ignored == "") {
				t.Errorf("got %+v (reason %q), want %+v", got, st.Reason, tt.want)
			}
			if tt.wantStep != "" && (len(st.Trail) == 0 || !strings.Contains(st.Trail[len(st.Trail)-1].Effect, tt.wantStep)) {
				t.Errorf("trail %+v, want last effect containing %q", st.Trail, tt.wantStep)
			}
		})
	}
}

func TestAmendmentBecomesListingInForce(t *testing.T) {
	e := newEngine(t)
	L := ref("330000", 10)
	fixed := envListing("2026-03-02")
	fixed.Subject.ResponsiblePersons = nil
	st, err := e.State(ListingHistory{Ref: L, Listing: envListing("2026-03-02"),
		Events: []Event{amend(t, ref("330000", 30), L, "2026-05-05 09:00", fixed)}}, at("2026-06-01 12:00"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Listing.Subject.ResponsiblePersons) != 0 {
		t.Error("the amendment is not the listing in force")
	}
	if _, err := e.State(ListingHistory{Ref: L}, at("2026-06-01 12:00")); err == nil {
		t.Error("history without a listing accepted")
	}
}

// Objection deadlines across the Spring Festival, computed by hand from the
// official arrangements (2024: 2-10..2-17 off, Sundays 2-4 and 2-18 worked;
// 2025: 1-28..2-4 off, Sunday 1-26 and Saturday 2-8 worked).
func TestObjectionDeadlines(t *testing.T) {
	e := newEngine(t)
	L, O := ref("330000", 10), ref("330000", 11)
	type dl struct {
		what, due, done string
		met, overdue    bool
	}
	tests := []struct {
		name     string
		listedOn string
		events   []Event
		at       string
		want     []dl
	}{
		{name: "2024: filed the day before the holiday eve, asked during the week after",
			listedOn: "2024-01-15", events: []Event{objection(O, L, "2024-02-08 09:00")}, at: "2024-02-19 12:00",
			want: []dl{
				{"mark", "2024-02-09", "2024-02-08", true, false},               // 2-9 (Fri, the eve, a working day)
				{"correct_or_forward", "2024-02-18", "2024-02-08", true, false}, // 2-9, 2-18 (Sun, worked)
				{"provider_answer", "2024-02-21", "", false, false},             // 2-9, 18, 19, 20, 21
				{"decide", "2024-02-28", "", false, false},                      // from 2-21: 22, 23, 26, 27, 28
				{"decide_extended", "2024-03-20", "", false, false},             // from 2-21: 20 working days
			}},
		{name: "2024: nothing happened by 2-29",
			listedOn: "2024-01-15", events: []Event{objection(O, L, "2024-02-08 09:00")}, at: "2024-02-29 12:00",
			want: []dl{
				{"mark", "2024-02-09", "2024-02-08", true, false},
				{"correct_or_forward", "2024-02-18", "2024-02-08", true, false},
				{"provider_answer", "2024-02-21", "", false, true},
				{"decide", "2024-02-28", "", false, true},
				{"decide_extended", "2024-03-20", "", false, false},
			}},
		{name: "2025: filed on the Friday before, decided on the worked Saturday",
			listedOn: "2024-12-02", at: "2025-03-01 12:00",
			events: []Event{objection(O, L, "2025-01-24 09:00"), decision(ref("330000", 12), O, "2025-02-08 10:00", "rejected")},
			want: []dl{
				{"mark", "2025-01-26", "2025-01-24", true, false},               // 1-26 (Sun, worked)
				{"correct_or_forward", "2025-01-27", "2025-01-24", true, false}, // 1-26, 27
				{"provider_answer", "2025-02-07", "2025-02-08", false, true},    // 1-26, 27, 2-5, 6, 7; answered late
				{"decide", "2025-02-14", "2025-02-08", true, false},             // from 2-8: 10, 11, 12, 13, 14
				{"decide_extended", "2025-03-07", "2025-02-08", true, false},    // from 2-8: 20 working days
			}},
		{name: "a provider correction is the answer",
			listedOn: "2024-01-15", at: "2024-02-20 12:00",
			events: []Event{objection(O, L, "2024-02-08 09:00"), amend(t, ref("330000", 12), L, "2024-02-19 15:00", envListing("2024-01-15"))},
			want: []dl{
				{"mark", "2024-02-09", "2024-02-08", true, false},
				{"correct_or_forward", "2024-02-18", "2024-02-08", true, false},
				{"provider_answer", "2024-02-21", "2024-02-19", true, false},
				{"decide", "2024-02-26", "", false, false},          // from 2-19: 20, 21, 22, 23, 26
				{"decide_extended", "2024-03-18", "", false, false}, // from 2-19: 20 working days
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.State(ListingHistory{Ref: L, Listing: envListing(tt.listedOn), Events: tt.events}, at(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			var got []dl
			for _, d := range st.Deadlines {
				if d.Objection != O || d.Unknown != "" {
					t.Errorf("deadline %+v", d)
				}
				got = append(got, dl{d.What, d.Due.String(), d.Done.String(), d.Met, d.Overdue})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("deadlines\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestDeadlinesBeyondCalendar(t *testing.T) {
	e := newEngine(t)
	L, O := ref("330000", 10), ref("330000", 11)
	st, err := e.State(ListingHistory{Ref: L, Listing: envListing("2026-03-02"),
		Events: []Event{objection(O, L, "2026-12-24 09:00")}}, at("2027-01-04 12:00"))
	if err != nil {
		t.Fatal(err)
	}
	// 12-25 is the first working day; 12-28 the second; the answer's five
	// working days after 12-24 end on 12-31; deciding runs into 2027.
	if st.State != StateSuspended || !st.Restricts {
		t.Errorf("state %s restricts %v", st.State, st.Restricts)
	}
	// Issue 12: deadlines past the calendar are provisional (weekends
	// only), never unknown.
	for _, d := range st.Deadlines {
		prov := d.What == "decide" || d.What == "decide_extended"
		if d.Unknown != "" || prov != d.Provisional || prov && d.Due.Year() != 2027 {
			t.Errorf("%s: due %s provisional %v unknown %q", d.What, d.Due, d.Provisional, d.Unknown)
		}
	}
}
