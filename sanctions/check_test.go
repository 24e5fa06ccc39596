package sanctions

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/creditx/creditx/schemas"
)

func TestNoticeStatus(t *testing.T) {
	e := newEngine(t)
	L := ref("330000", 10)
	l := foodListing("2024-02-05")
	ns, err := e.NoticesFor(l, L, at("2024-02-05 10:00")) // feedback due 2024-02-23
	if err != nil {
		t.Fatal(err)
	}
	var ent, personB *schemas.SanctionNotice
	for _, n := range ns {
		if n.Measure.Code == "FD-02" && n.ExecutingAgency.USCC == usccZJMarket {
			switch n.Target.IDHash {
			case "":
				ent = n
			case hashB:
				personB = n
			}
		}
	}
	fb := func(agency, when string) *schemas.Feedback {
		return &schemas.Feedback{Header: schemas.Header{Region: "330000", Submitter: agency, CreatedAt: stamp(when)},
			Agency: schemas.Agency{Name: "x", USCC: agency}, Outcome: "applied", ActedAt: stamp(when)}
	}
	withoutB := foodListing("2024-02-05")
	withoutB.Subject.ResponsiblePersons = withoutB.Subject.ResponsiblePersons[:1]
	removeAt := "2024-03-01 09:00"
	hist := []Event{repair(ref("330000", 20), L, removeAt, "decision_revoked", usccZJEnv, "", "remove")}
	tests := []struct {
		name     string
		notice   *schemas.SanctionNotice
		feedback []*schemas.Feedback
		events   []Event
		at       string
		want     string
		late     bool
	}{
		{"no feedback yet", ent, nil, nil, "2024-02-23 23:59", NoticePending, false},
		{"no feedback after the due day", ent, nil, nil, "2024-02-24 00:00", NoticeOverdue, true},
		// Boundary (issue 12): the 10th working day after 2024-02-05,
		// across the Spring Festival (2-10..2-17 off, Sunday 2-18 worked),
		// is Friday 2-23 (day N: in time); the next working day, Monday
		// 2-26 (N+1), is late.
		{"answered on the due day (N)", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-23 23:59")}, nil, "2024-02-26 10:00", NoticeAnswered, false},
		{"answered the next working day (N+1)", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-26 00:00")}, nil, "2024-02-26 10:00", NoticeAnswered, true},
		{"answered in time", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-20 10:00")}, nil, "2024-02-26 10:00", NoticeAnswered, false},
		{"answered late", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-26 10:00")}, nil, "2024-02-27 10:00", NoticeAnswered, true},
		{"feedback after the instant asked does not count", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-26 10:00")}, nil, "2024-02-25 10:00", NoticeOverdue, true},
		{"feedback by another agency does not count", ent, []*schemas.Feedback{fb(usccZJFinance, "2024-02-20 10:00")}, nil, "2024-02-21 10:00", NoticePending, false},
		{"lifted after removal, whatever the feedback", ent, []*schemas.Feedback{fb(usccZJMarket, "2024-02-20 10:00")}, hist, "2024-03-01 09:00", NoticeLifted, false},
		{"not lifted the minute before removal", ent, nil, hist, "2024-03-01 08:59", NoticeOverdue, true},
		{"lifted when a correction drops the person", personB, nil, []Event{amend(t, ref("330000", 30), L, "2024-02-10 09:00", withoutB)}, "2024-02-12 10:00", NoticeLifted, false},
		{"other person's notice stays", ent, nil, []Event{amend(t, ref("330000", 30), L, "2024-02-10 09:00", withoutB)}, "2024-02-12 10:00", NoticePending, false},
		{"lifted after expiry", ent, nil, nil, "2027-02-05 10:00", NoticeLifted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.State(ListingHistory{Ref: L, Listing: l, Events: tt.events}, at(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			got := NoticeStatus(tt.notice, tt.feedback, st, at(tt.at))
			if got.State != tt.want || got.Late != tt.late {
				t.Errorf("got %s late=%v (%s), want %s late=%v", got.State, got.Late, got.Reason, tt.want, tt.late)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	e := newEngine(t)
	ZJ, SH, O := ref("330000", 10), ref("310000", 4), ref("330000", 11)
	env := ListingHistory{Ref: ZJ, Listing: envListing("2026-03-02")}
	food := ListingHistory{Ref: ZJ, Listing: foodListing("2026-03-02")}
	tour := envListing("2026-03-02") // the same enterprise on Shanghai's tourism blacklist
	tour.Region, tour.Domain, tour.Programme.Code = "310000", "tourism", "SH-TOUR-BLACKLIST"
	tour.Authority, tour.SourceUnit, tour.Submitter = schemas.Agency{Name: "上海市文化和旅游局", USCC: usccSHTourism}, schemas.Agency{Name: "上海市文化和旅游局", USCC: usccSHTourism}, usccSHTourism
	tourH := ListingHistory{Ref: SH, Listing: tour}
	guide := ListingHistory{Ref: SH, Listing: guideListing("2026-03-02")}
	pending := ListingHistory{Ref: ZJ, Listing: envListing("2026-03-02"), Events: []Event{objection(O, ZJ, "2026-03-10 10:00")}}
	removed := ListingHistory{Ref: ZJ, Listing: envListing("2026-03-02"), Events: []Event{objection(O, ZJ, "2026-03-10 10:00"),
		decision(ref("330000", 12), O, "2026-03-16 09:00", "upheld", "remove")}}
	unknown := envListing("2026-03-02")
	unknown.Programme.Code = "ZJ-TAX-SEVERE"

	tests := []struct {
		name     string
		subject  string
		action   string
		listings []ListingHistory
		at       string
		measures []string // "listing-origin-code measure role"
		states   []string // state of each finding
	}{
		{"before the listing", usccHZChem, "procurement", []ListingHistory{env}, "2026-03-02 08:59", nil, nil},
		{"listed: procurement restricted", usccHZChem, "procurement", []ListingHistory{env}, "2026-03-02 09:00",
			[]string{"330000 ENV-03 enterprise"}, []string{StateActive}},
		{"listed: hiring not restricted by environment measures", usccHZChem, "hiring", []ListingHistory{env}, "2026-03-03 09:00",
			nil, []string{StateActive}},
		{"responsible person not reached by enterprise-only measures", hashA, "procurement", []ListingHistory{env}, "2026-03-03 09:00",
			nil, []string{StateActive}},
		{"responsible person barred from office", hashA, "office_holding", []ListingHistory{food}, "2026-03-03 09:00",
			[]string{"330000 FD-04 responsible_persons"}, []string{StateActive}},
		{"responsible person licence", hashB, "licence", []ListingHistory{food}, "2026-03-03 09:00",
			[]string{"330000 FD-02 responsible_persons", "330000 FD-03 responsible_persons"}, []string{StateActive}},
		{"enterprise not reached by person-only measures", usccHZChem, "office_holding", []ListingHistory{food}, "2026-03-03 09:00",
			nil, []string{StateActive}},
		{"listings of two members", usccHZChem, "procurement", []ListingHistory{env, tourH}, "2026-03-03 09:00",
			[]string{"310000 TOUR-02 enterprise", "330000 ENV-03 enterprise"}, []string{StateActive, StateActive}},
		{"natural person on a tourism list", hashC, "hiring", []ListingHistory{guide, env}, "2026-03-03 09:00",
			[]string{"310000 TOUR-07 responsible_persons"}, []string{StateActive}},
		{"objection pending: still restricted", usccHZChem, "procurement", []ListingHistory{pending}, "2026-03-11 09:00",
			[]string{"330000 ENV-03 enterprise"}, []string{StateSuspended}},
		{"removed: allowed, history visible", usccHZChem, "procurement", []ListingHistory{removed}, "2026-03-17 09:00",
			nil, []string{StateRemoved}},
		{"expired: allowed", usccHZChem, "procurement", []ListingHistory{env}, "2031-03-02 00:00",
			nil, []string{StateExpired}},
		{"unrecognised programme: shown, not restricting", usccHZChem, "procurement", []ListingHistory{{Ref: ZJ, Listing: unknown}}, "2026-03-03 09:00",
			nil, []string{StateActive}},
		{"other subject", usccOther, "procurement", []ListingHistory{env, tourH}, "2026-03-03 09:00", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Check(tt.subject, tt.action, tt.listings, at(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			var ms, ss []string
			for _, c := range res.Measures {
				ms = append(ms, strings.TrimSuffix(strings.TrimPrefix(c.Listing.Origin, "creditx."), "/ledger")+" "+c.Measure.Code+" "+c.Role)
				if c.Measure.CatalogueVersion != "2026.2" || c.Measure.Memorandum == "" || c.Measure.Item == "" {
					t.Errorf("citation incomplete: %+v", c.Measure)
				}
			}
			for _, f := range res.Listings {
				ss = append(ss, f.State)
			}
			if !slices.Equal(ms, tt.measures) || !slices.Equal(ss, tt.states) || res.Allowed != (len(tt.measures) == 0) {
				t.Errorf("allowed %v measures %v states %v; want measures %v states %v", res.Allowed, ms, ss, tt.measures, tt.states)
			}
		})
	}
}

func TestCheckInputErrors(t *testing.T) {
	e := newEngine(t)
	tests := []struct{ subject, action, field string }{
		{"91330100143689503X", "procurement", "subject"}, // bad check character
		{"h1:ABC", "procurement", "subject"},
		{"", "procurement", "subject"},
		{usccHZChem, "parking", "action"},
		{usccHZChem, "", "action"},
	}
	for _, tt := range tests {
		_, err := e.Check(tt.subject, tt.action, nil, at("2026-03-03 09:00"))
		var ce *CheckInputError
		if !errors.As(err, &ce) || ce.Field != tt.field || ce.Value != map[string]string{"subject": tt.subject, "action": tt.action}[tt.field] {
			t.Errorf("Check(%q, %q) = %v, want a %s error", tt.subject, tt.action, err, tt.field)
		}
	}
}

func TestCheckBatch(t *testing.T) {
	e := newEngine(t)
	env := ListingHistory{Ref: ref("330000", 10), Listing: envListing("2026-03-02")}
	index := map[string][]ListingHistory{usccHZChem: {env}, hashA: {env}}
	lookup := func(k string) ([]ListingHistory, error) { return index[k], nil }
	res, err := e.CheckBatch([]string{usccOther, usccHZChem, hashA}, "land", at("2026-03-03 09:00"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, r := range res {
		got = append(got, r.Allowed)
	}
	if !slices.Equal(got, []bool{true, false, true}) || res[1].Measures[0].Measure.Code != "ENV-01" || res[1].Subject != usccHZChem {
		t.Errorf("batch allowed = %v, %+v", got, res)
	}
	called := false
	_, err = e.CheckBatch([]string{usccOther, "nonsense"}, "land", at("2026-03-03 09:00"), func(string) ([]ListingHistory, error) {
		called = true
		return nil, nil
	})
	var ce *CheckInputError
	if !errors.As(err, &ce) || ce.Index != 2 || ce.Field != "subject" || called {
		t.Errorf("bad batch: %v (lookup called: %v)", err, called)
	}
	boom := errors.New("index unavailable")
	if _, err := e.CheckBatch([]string{usccOther}, "land", at("2026-03-03 09:00"), func(string) ([]ListingHistory, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("lookup error: %v", err)
	}
}

func TestDetectConflicts(t *testing.T) {
	e := newEngine(t)
	zj := envListing("2026-03-02")
	sh := envListing("2026-03-05") // Shanghai lists the same enterprise for the same penalty decision
	sh.Region, sh.Decision.DocNo = "310000", "沪环信〔2026〕3号"
	sh.Authority, sh.SourceUnit, sh.Submitter = schemas.Agency{Name: "上海市生态环境局", USCC: usccSHTourism}, schemas.Agency{Name: "上海市生态环境局", USCC: usccSHTourism}, usccSHTourism
	sh.UnderlyingDecisions[0].DocNo = " 浙环罚〔2025〕88号 "
	otherAct := envListing("2026-03-05")
	otherAct.Decision.DocNo, otherAct.UnderlyingDecisions[0].DocNo = "浙环信〔2026〕99号", "浙环罚〔2026〕5号"
	red := envListing("2026-01-05")
	red.Programme.Code, red.Decision.DocNo, red.UnderlyingDecisions = "ZJ-ENV-RED", "浙环红〔2026〕1号", nil
	ZJ, SH, X, R := ref("330000", 10), ref("310000", 4), ref("330000", 20), ref("330000", 30)
	removedZJ := ListingHistory{Ref: ZJ, Listing: zj, Events: []Event{withdraw(ref("330000", 40), ZJ, "2026-04-01 09:00")}}

	tests := []struct {
		name     string
		listings []ListingHistory
		at       string
		want     []string // "kind members listings docs"
	}{
		{"same act listed by two members", []ListingHistory{{Ref: ZJ, Listing: zj}, {Ref: SH, Listing: sh}, {Ref: X, Listing: otherAct}}, "2026-03-10 09:00",
			[]string{"same_act [310000 330000] [310000#4 330000#10] [浙环罚〔2025〕88号]"}},
		// conflicts.Reindex does not ask about a subject listed once.
		{"one black listing alone", []ListingHistory{{Ref: ZJ, Listing: zj}}, "2026-03-10 09:00", nil},
		{"one red listing alone", []ListingHistory{{Ref: R, Listing: red}}, "2026-03-10 09:00", nil},
		{"the same listing passed twice is one listing", []ListingHistory{{Ref: ZJ, Listing: zj}, {Ref: ZJ, Listing: zj}}, "2026-03-10 09:00", nil},
		{"not yet in force at the instant", []ListingHistory{{Ref: ZJ, Listing: zj}, {Ref: SH, Listing: sh}}, "2026-03-04 09:00", nil},
		{"withdrawn listing no longer conflicts", []ListingHistory{removedZJ, {Ref: SH, Listing: sh}}, "2026-04-02 09:00", nil},
		{"red and black", []ListingHistory{{Ref: R, Listing: red}, {Ref: X, Listing: otherAct}}, "2026-03-10 09:00",
			[]string{"red_and_black [330000] [330000#20 330000#30] [ZJ-ENV-RED]"}},
		{"both kinds", []ListingHistory{{Ref: R, Listing: red}, {Ref: ZJ, Listing: zj}, {Ref: SH, Listing: sh}}, "2026-03-10 09:00",
			[]string{"same_act [310000 330000] [310000#4 330000#10] [浙环罚〔2025〕88号]",
				"red_and_black [310000 330000] [310000#4 330000#10 330000#30] [ZJ-ENV-RED]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range e.DetectConflicts(tt.listings, at(tt.at)) {
				var refs []string
				for _, r := range c.Listings {
					refs = append(refs, strings.TrimSuffix(strings.TrimPrefix(r.Origin, "creditx."), "/ledger")+"#"+strconv.FormatUint(r.Index, 10))
				}
				if c.Subject != usccHZChem {
					t.Errorf("subject %s", c.Subject)
				}
				got = append(got, c.Kind+" "+sliceString(c.Members)+" "+sliceString(refs)+" "+sliceString(c.Docs))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("conflicts\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func sliceString(s []string) string { return "[" + strings.Join(s, " ") + "]" }
