package sanctions

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// Identifiers with check characters computed by hand from DOMAIN.md section
// 5 (a separate script), not by the code under test.
const (
	usccCreditOffice = "12330000000007771X" // issuer of Zhejiang's notices
	usccZJEnv        = "11330000002534129D" // Zhejiang ecology & environment dept
	usccJSEnv        = "11320000000008889K" // Jiangsu ecology & environment dept (not the authority)
	usccSHTourism    = "11310000425001324B" // Shanghai culture & tourism bureau
	usccHZChem       = "91330100143689503K" // the listed enterprise
	usccOther        = "91330100000001230Y" // an enterprise on no list
	usccSHTravel     = "91310000000004562H"
	usccZJFinance    = "11330000020261021G" // from testdata/agencies-330000.yaml
	usccHZFinance    = "11330100020261136U"
	usccZJMarket     = "11330000020261064X"

	hashA = "h1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "h1:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hashC = "h1:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

var cst = time.FixedZone("CST", 8*3600)

// at parses "2006-01-02 15:04" in UTC+8.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) schemas.Date {
	d, err := schemas.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func stamp(s string) schemas.Time { return schemas.NewTime(at(s)) }

func ref(origin string, i uint64) schemas.Ref {
	return schemas.Ref{Origin: "creditx." + origin + "/ledger", Index: i, Hash: fmt.Sprintf("%064x", i+1)}
}

func person(hash string) schemas.Person {
	return schemas.Person{IDHash: hash, IDMasked: "330102********123X", NameMasked: "王**"}
}

// envListing is a Zhejiang environment listing of usccHZChem with one
// legal representative, listed on listedOn (created 09:00 that day, UTC+8),
// public for five years.
func envListing(listedOn string) *schemas.Listing {
	lo := day(listedOn)
	return &schemas.Listing{
		Header: schemas.Header{Region: "330000", Submitter: usccZJEnv, CreatedAt: stamp(listedOn + " 09:00")},
		Subject: schemas.Subject{Type: schemas.SubjectEnterprise, Name: "杭州某化工有限公司", USCC: usccHZChem,
			ResponsiblePersons: []schemas.ResponsiblePerson{{Role: "legal_representative", Person: person(hashA)}}},
		Domain:              "environment",
		Programme:           schemas.Programme{Code: "ZJ-ENV-SEVERE", CriteriaVersion: "2025.1"},
		Authority:           schemas.Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
		Decision:            schemas.DocRef{DocNo: "浙环信〔2026〕17号", Date: schemas.Date{Time: lo.AddDate(0, 0, -1)}},
		LegalBasis:          []schemas.LegalBasis{{Law: "中华人民共和国环境保护法", Article: "第六十三条"}},
		UnderlyingDecisions: []schemas.UnderlyingDecision{{Kind: "penalty", DocNo: "浙环罚〔2025〕88号", Date: schemas.Date{Time: lo.AddDate(0, -2, 0)}}},
		Reason:              "篡改自动监测数据",
		PreNotice:           schemas.PreNotice{Date: schemas.Date{Time: lo.AddDate(0, 0, -30)}, StatementDeadline: schemas.Date{Time: lo.AddDate(0, 0, -20)}},
		ListedOn:            lo,
		PublicityEnd:        schemas.Date{Time: lo.AddDate(5, 0, -1)},
		RemovalConditions:   "公示期满",
		Remedies:            "可依法申请行政复议或者提起行政诉讼",
		Disclosure:          "public",
		SourceUnit:          schemas.Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
	}
}

// foodListing is a Jiangsu-programme food and drug listing published by
// Zhejiang with two responsible persons.
func foodListing(listedOn string) *schemas.Listing {
	l := envListing(listedOn)
	l.Domain = "food_drug"
	l.Programme.Code = "JS-FOOD-DRUG-SEVERE"
	l.Subject.ResponsiblePersons = append(l.Subject.ResponsiblePersons, schemas.ResponsiblePerson{Role: "directly_responsible", Person: person(hashB)})
	l.PublicityEnd = schemas.Date{Time: l.ListedOn.AddDate(3, 0, -1)}
	return l
}

// guideListing is a Shanghai tourism listing of a natural person (a tour
// guide), published in Shanghai's ledger.
func guideListing(listedOn string) *schemas.Listing {
	l := envListing(listedOn)
	p := person(hashC)
	l.Header.Region, l.Header.Submitter = "310000", usccSHTourism
	l.Subject = schemas.Subject{Type: schemas.SubjectNaturalPerson, Name: p.NameMasked, Person: &p}
	l.Domain = "tourism"
	l.Programme.Code = "SH-TOUR-BLACKLIST"
	l.Authority = schemas.Agency{Name: "上海市文化和旅游局", USCC: usccSHTourism}
	l.SourceUnit = l.Authority
	l.PublicityEnd = schemas.Date{Time: l.ListedOn.AddDate(2, 0, -1)}
	return l
}

func newEngine(t testing.TB, mods ...func(*Config)) *Engine {
	t.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	ag := loadAgencies(t)
	cfg := Config{Catalogue: cat, Calendar: cal, Agencies: ag, Region: "330000", Issuer: usccCreditOffice}
	for _, m := range mods {
		m(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func loadAgencies(t testing.TB) *Agencies {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "agencies-330000.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ag, err := LoadAgencies(f)
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

// Event builders. Times are "2006-01-02 15:04" in UTC+8; created_at and the
// record's own time are the same.

func objection(r schemas.Ref, target schemas.Ref, filed string) Event {
	return Event{Ref: r, Seq: r.Index, Record: &schemas.Objection{
		Header: schemas.Header{Region: "330000", Submitter: usccCreditOffice, CreatedAt: stamp(filed)},
		Target: target, SubjectKey: usccHZChem, Grounds: []string{"fact_error"}, Statement: "数据有误",
		FiledAt: stamp(filed), ProvidingUnit: schemas.Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
	}}
}

func decision(r, obj schemas.Ref, when, outcome string, actions ...string) Event {
	return Event{Ref: r, Seq: r.Index, Record: &schemas.ObjectionDecision{
		Header:    schemas.Header{Region: "330000", Submitter: usccZJEnv, CreatedAt: stamp(when)},
		Objection: obj, Decision: outcome, Actions: actions, DecidedAt: stamp(when),
		Authority: schemas.Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
	}}
}

func repair(r, listing schemas.Ref, when, typ, authority, applied string, effects ...string) Event {
	rp := &schemas.Repair{
		Header:  schemas.Header{Region: "330000", Submitter: authority, CreatedAt: stamp(when)},
		Listing: listing, Type: typ,
		Decision:     schemas.RepairDecision{Authority: schemas.Agency{Name: "某厅", USCC: authority}, DocNo: "修复决定〔2027〕1号", Date: stamp(when).Date()},
		Effects:      effects,
		MinPeriodMet: typ == "early_repair",
	}
	if applied != "" {
		rp.Application = &schemas.RepairApplication{Date: day(applied)}
	}
	return Event{Ref: r, Seq: r.Index, Record: rp}
}

func withdraw(r, target schemas.Ref, when string) Event {
	return Event{Ref: r, Seq: r.Index, Record: &schemas.Correction{
		Header: schemas.Header{Region: "330000", Submitter: usccZJEnv, CreatedAt: stamp(when)},
		Target: target, Action: "withdraw", Reason: "误列",
	}}
}

func amend(t testing.TB, r, target schemas.Ref, when string, l *schemas.Listing) Event {
	t.Helper()
	b, err := schemas.Encode(l)
	if err != nil {
		t.Fatal(err)
	}
	return Event{Ref: r, Seq: r.Index, Record: &schemas.Correction{
		Header: schemas.Header{Region: "330000", Submitter: usccZJEnv, CreatedAt: stamp(when)},
		Target: target, Action: "amend", Reason: "更正", Replacement: b,
	}}
}
