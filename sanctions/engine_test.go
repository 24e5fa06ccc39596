package sanctions

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
)

// summary is "measure agency target" for one notice.
func summary(n *schemas.SanctionNotice) string {
	who := n.Target.USCC
	if n.Target.Kind == "responsible_person" {
		who = n.Target.IDHash[:4]
	}
	return n.Measure.Code + " " + n.ExecutingAgency.USCC + " " + who
}

func TestNoticesFor(t *testing.T) {
	e := newEngine(t)
	const (
		land, licence, trading  = "11330000020261005T", "11330000020261013M", "1133000002026103X8"
		devRef, customs, drug   = "113300000202610488", "113300000202610563", "11330000020261072Q"
		finance, civil, tourism = usccZJFinance, "11330000020261099G", "113300000202611014"
		hzMarket                = "11330100020261144N"
	)
	tests := []struct {
		name    string
		listing *schemas.Listing
		want    []string // computed by hand from default.yaml and the sample directory
	}{
		{"environment: enterprise measures only, legal representative untouched", envListing("2024-02-05"), []string{
			"ENV-01 " + land + " " + usccHZChem,
			"ENV-02 " + licence + " " + usccHZChem,
			"ENV-03 " + usccZJFinance + " " + usccHZChem,
			"ENV-03 " + usccHZFinance + " " + usccHZChem,
			"ENV-04 " + trading + " " + usccHZChem,
			"ENV-05 " + devRef + " " + usccHZChem,
			"ENV-06 " + devRef + " " + usccHZChem,
			"ENV-07 " + customs + " " + usccHZChem,
			"ENV-08 " + usccZJMarket + " " + usccHZChem,
			"ENV-08 " + hzMarket + " " + usccHZChem,
		}},
		{"food and drug: responsible persons where the measure has a legal basis", foodListing("2024-02-05"), []string{
			"FD-01 " + usccZJMarket + " " + usccHZChem,
			"FD-01 " + hzMarket + " " + usccHZChem,
			"FD-02 " + usccZJMarket + " " + usccHZChem,
			"FD-02 " + usccZJMarket + " h1:a",
			"FD-02 " + usccZJMarket + " h1:b",
			"FD-02 " + hzMarket + " " + usccHZChem,
			"FD-02 " + hzMarket + " h1:a",
			"FD-02 " + hzMarket + " h1:b",
			"FD-03 " + drug + " " + usccHZChem,
			"FD-03 " + drug + " h1:a",
			"FD-03 " + drug + " h1:b",
			"FD-04 " + usccZJMarket + " h1:a",
			"FD-04 " + usccZJMarket + " h1:b",
			"FD-04 " + hzMarket + " h1:a",
			"FD-04 " + hzMarket + " h1:b",
			"FD-05 " + finance + " " + usccHZChem,
			"FD-06 " + usccZJFinance + " " + usccHZChem,
			"FD-06 " + usccHZFinance + " " + usccHZChem,
		}},
		{"tourism, natural person: person measures only", guideListing("2024-02-05"), []string{
			"TOUR-01 " + tourism + " h1:c",
			"TOUR-07 " + civil + " h1:c",
		}},
	}
	lref := ref("330000", 7)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := e.NoticesFor(tt.listing, lref, at("2024-02-05 10:00"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range ns {
				got = append(got, summary(n))
				if err := schemas.Validate(n, nil); err != nil {
					t.Errorf("%s: invalid notice: %v", summary(n), err)
				}
				if n.Listing != lref || n.Start != tt.listing.ListedOn || n.End != tt.listing.PublicityEnd ||
					n.Measure.CatalogueVersion != "2026.2" || n.Region != "330000" || n.Submitter != usccCreditOffice ||
					n.CreatedAt != stamp("2024-02-05 10:00") {
					t.Errorf("%s: header or period wrong: %+v", summary(n), n)
				}
				if n.Target.Kind == "responsible_person" && n.Measure.LegalBasis == "" {
					t.Errorf("%s: notice against a natural person without legal basis", summary(n))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("notices:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

func TestNoticeMeasureCitation(t *testing.T) {
	e := newEngine(t)
	ns, err := e.NoticesFor(foodListing("2024-02-05"), ref("330000", 7), at("2024-02-05 10:00"))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ns, func(n *schemas.SanctionNotice) bool { return n.Measure.Code == "FD-03" })
	m := ns[i].Measure
	want := schemas.Measure{Code: "FD-03", CatalogueVersion: "2026.2", Memorandum: "发改财金〔2016〕1962号", Item: "3",
		Text:       "依法在一定期限内不受理药品生产经营许可申请，情节严重的责任人员终身禁止从事药品生产经营活动",
		LegalBasis: "《中华人民共和国药品管理法》第一百一十六条；《中华人民共和国药品管理法》第一百一十八条",
		Mandatory:  true, Scope: "special", AppliesTo: []string{"enterprise", "responsible_persons"}}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("measure\n got  %+v\n want %+v", m, want)
	}
	// A memorandum whose number is not confirmed is cited by its title.
	ns, _ = e.NoticesFor(guideListing("2024-02-05"), ref("310000", 1), at("2024-02-05 10:00"))
	if got := ns[0].Measure.Memorandum; got != "关于对旅游领域严重失信相关责任主体实施联合惩戒的合作备忘录（2018年）" {
		t.Errorf("tourism memorandum = %q", got)
	}
}

// The feedback deadline is counted in working days of the official
// calendar, across the 2024 and 2025 Spring Festivals. Expected dates
// computed by hand from the State Council notices: 2024: 2-10..2-17 off,
// Sunday 2-4 and Sunday 2-18 worked; 2025: 1-28..2-4 off, Sunday 1-26 and
// Saturday 2-8 worked.
func TestFeedbackDueAcrossSpringFestival(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		listedOn, issued, want string
	}{
		// 2-6,7,8,9 | 2-18 (Sun, worked),19,20,21,22,23
		{"2024-02-05", "2024-02-05 10:00", "2024-02-23"},
		// 07:30 in UTC+8 is the previous day in UTC: the issue date is 2-6.
		// 2-7,8,9 | 18,19,20,21,22,23 | 26 (2-24/25 a plain weekend)
		{"2024-02-05", "2024-02-06 07:30", "2024-02-26"},
		// issued before listed_on: counted from listed_on
		{"2024-02-05", "2024-02-01 10:00", "2024-02-23"},
		// 1-26 (Sun, worked),27 | 2-5,6,7,8 (Sat, worked),10,11,12,13
		{"2025-01-24", "2025-01-24 16:00", "2025-02-13"},
	}
	for _, tt := range tests {
		ns, err := e.NoticesFor(envListing(tt.listedOn), ref("330000", 1), at(tt.issued))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.FeedbackDue != day(tt.want) {
				t.Errorf("listed %s issued %s: %s due %s, want %s", tt.listedOn, tt.issued, summary(n), n.FeedbackDue, tt.want)
				break
			}
		}
	}
}

func TestNoticesForRefusals(t *testing.T) {
	e := newEngine(t)
	lref := ref("330000", 1)
	unknown := envListing("2024-02-05")
	unknown.Programme.Code = "ZJ-TAX-SEVERE"
	wrongDomain := envListing("2024-02-05")
	wrongDomain.Domain = "tourism"
	invalid := envListing("2024-02-05")
	invalid.LegalBasis = nil
	late := envListing("2026-12-20") // feedback deadline runs into 2027, which the calendar does not cover

	if _, err := e.NoticesFor(unknown, lref, at("2024-02-05 10:00")); !errors.Is(err, ErrUnknownProgramme) {
		t.Errorf("unknown programme: %v", err)
	}
	if _, err := e.NoticesFor(wrongDomain, lref, at("2024-02-05 10:00")); err == nil || !strings.Contains(err.Error(), `domain "tourism" does not match programme ZJ-ENV-SEVERE`) {
		t.Errorf("domain mismatch: %v", err)
	}
	var ve schemas.ValidationErrors
	if ns, err := e.NoticesFor(invalid, lref, at("2024-02-05 10:00")); ns != nil || !errors.As(err, &ve) || !strings.Contains(err.Error(), "legal_basis") {
		t.Errorf("invalid listing: %v, %d notices", err, len(ns))
	}
	if _, err := e.NoticesFor(nil, lref, at("2024-02-05 10:00")); err == nil {
		t.Error("nil listing accepted")
	}
	if _, err := e.NoticesFor(envListing("2024-02-05"), schemas.Ref{Origin: "x", Hash: "zz"}, at("2024-02-05 10:00")); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("bad ref: %v", err)
	}
	// Issue 12: a deadline past the calendar is provisional, never a refusal
	// (TestNoticesForProvisionalDeadline).
	if ns, err := e.NoticesFor(late, lref, at("2026-12-20 10:00")); err != nil || len(ns) == 0 || !ns[0].FeedbackDueProvisional {
		t.Errorf("deadline in 2027: %v, %d notices", err, len(ns))
	}
	// No notices, no error: a red list, and a listing whose publicity ended.
	red := envListing("2024-02-05")
	red.Programme.Code = "ZJ-ENV-RED"
	if ns, err := e.NoticesFor(red, lref, at("2024-02-05 10:00")); ns != nil || err != nil {
		t.Errorf("red list: %d notices, %v", len(ns), err)
	}
	if ns, err := e.NoticesFor(envListing("2020-03-02"), lref, at("2025-03-02 10:00")); ns != nil || err != nil {
		t.Errorf("expired listing: %d notices, %v", len(ns), err)
	}
}

func TestNoNoticeAgainstPersonsWithoutLegalBasis(t *testing.T) {
	l := foodListing("2024-02-05")
	noBasis := catalogue.Measure{Code: "X-01", AppliesTo: []string{"enterprise", "responsible_persons"}}
	got := targetsOf(l, noBasis)
	if len(got) != 1 || got[0].Kind != "enterprise" {
		t.Errorf("targets without legal basis = %+v, want the enterprise only", got)
	}
	withBasis := noBasis
	withBasis.LegalBasis = []catalogue.LegalBasis{{Law: "L", Article: "1"}}
	if got := targetsOf(l, withBasis); len(got) != 3 || got[1].IDHash != hashA || got[2].IDHash != hashB {
		t.Errorf("targets with legal basis = %+v", got)
	}
	// A natural person is never targeted as an enterprise.
	if got := targetsOf(guideListing("2024-02-05"), noBasis); len(got) != 0 {
		t.Errorf("natural person without legal basis: %+v", got)
	}
}

func TestNoticesDeterministic(t *testing.T) {
	e1, e2 := newEngine(t), newEngine(t)
	encode := func(e *Engine) []byte {
		ns, err := e.NoticesFor(foodListing("2025-01-24"), ref("320000", 42), at("2025-01-24 16:00"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, n := range ns {
			b, err := schemas.Encode(n)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		return buf.Bytes()
	}
	a, b := encode(e1), encode(e2)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Error("two engines produced different notice bytes")
	}
}

func TestNewEngineErrors(t *testing.T) {
	good := newEngine(t).cfg
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no catalogue", func(c *Config) { c.Catalogue = nil }, "Config.Catalogue is required"},
		{"no calendar", func(c *Config) { c.Calendar = nil }, "Config.Calendar is required"},
		{"no agencies", func(c *Config) { c.Agencies = nil }, "Config.Agencies is required"},
		{"bad region", func(c *Config) { c.Region = "99" }, "Config.Region"},
		{"bad issuer", func(c *Config) { c.Issuer = "12330000000007771Y" }, "Config.Issuer"},
		{"directory of another region", func(c *Config) { c.Region = "310000" }, "directory of 330000, not of Config.Region 310000"},
	}
	for _, tt := range tests {
		cfg := good
		tt.mod(&cfg)
		if _, err := NewEngine(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
