package sanctions_test

import (
	"fmt"
	"os"
	"time"

	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

var cst = time.FixedZone("CST", 8*3600)

// zhejiang builds Zhejiang's engine from the embedded catalogue and
// calendar and the sample agencies directory.
func zhejiang() *sanctions.Engine {
	cat, err := catalogue.Default()
	if err != nil {
		panic(err)
	}
	cal, err := workdays.Default()
	if err != nil {
		panic(err)
	}
	f, err := os.Open("testdata/agencies-330000.yaml")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	ag, err := sanctions.LoadAgencies(f)
	if err != nil {
		panic(err)
	}
	e, err := sanctions.NewEngine(sanctions.Config{Catalogue: cat, Calendar: cal, Agencies: ag,
		Region: "330000", Issuer: "12330000000007771X"})
	if err != nil {
		panic(err)
	}
	return e
}

// listing is an environment listing of a Hangzhou enterprise, listed on
// Monday 2024-02-05, the week before the Spring Festival.
func listing() (*schemas.Listing, schemas.Ref) {
	env := schemas.Agency{Name: "浙江省生态环境厅", USCC: "11330000002534129D"}
	l := &schemas.Listing{
		Header:              schemas.Header{Region: "330000", Submitter: env.USCC, CreatedAt: schemas.NewTime(time.Date(2024, 2, 5, 9, 0, 0, 0, cst))},
		Subject:             schemas.Subject{Type: schemas.SubjectEnterprise, Name: "杭州某化工有限公司", USCC: "91330100143689503K"},
		Domain:              "environment",
		Programme:           schemas.Programme{Code: "ZJ-ENV-SEVERE", CriteriaVersion: "2025.1"},
		Authority:           env,
		Decision:            schemas.DocRef{DocNo: "浙环信〔2024〕17号", Date: schemas.NewDate(2024, 2, 1)},
		LegalBasis:          []schemas.LegalBasis{{Law: "中华人民共和国环境保护法", Article: "第六十三条"}},
		UnderlyingDecisions: []schemas.UnderlyingDecision{{Kind: "penalty", DocNo: "浙环罚〔2023〕88号", Date: schemas.NewDate(2023, 11, 3)}},
		Reason:              "篡改自动监测数据",
		PreNotice:           schemas.PreNotice{Date: schemas.NewDate(2024, 1, 5), StatementDeadline: schemas.NewDate(2024, 1, 15)},
		ListedOn:            schemas.NewDate(2024, 2, 5),
		PublicityEnd:        schemas.NewDate(2029, 2, 4),
		RemovalConditions:   "公示期满",
		Remedies:            "可依法申请行政复议或者提起行政诉讼",
		Disclosure:          "public",
		SourceUnit:          env,
	}
	return l, schemas.Ref{Origin: "creditx.330000/ledger", Index: 7, Hash: "0707070707070707070707070707070707070707070707070707070707070707"}
}

// A node indexing a listing issues one notice per measure and executing
// agency; the feedback deadline of 10 working days skips the Spring
// Festival (2-10 to 2-17) and counts the worked Sunday 2-18.
func ExampleEngine_NoticesFor() {
	e := zhejiang()
	l, ref := listing()
	notices, err := e.NoticesFor(l, ref, time.Date(2024, 2, 5, 10, 0, 0, 0, cst))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(notices), "notices")
	n := notices[2]
	fmt.Println(n.Measure.Code, n.Measure.CatalogueVersion, n.ExecutingAgency.Name, n.Target.USCC, n.FeedbackDue)
	// Output:
	// 10 notices
	// ENV-03 2026.2 浙江省财政厅 91330100143689503K 2024-02-23
}

// An executing agency asks before approving a procurement bid.
func ExampleEngine_Check() {
	e := zhejiang()
	l, ref := listing()
	h := []sanctions.ListingHistory{{Ref: ref, Listing: l}}
	for _, when := range []time.Time{time.Date(2024, 2, 1, 12, 0, 0, 0, cst), time.Date(2024, 3, 1, 12, 0, 0, 0, cst)} {
		res, err := e.Check("91330100143689503K", "procurement", h, when)
		if err != nil {
			panic(err)
		}
		fmt.Println(when.Format("2006-01-02"), "allowed:", res.Allowed)
		for _, c := range res.Measures {
			fmt.Println(" ", c.Measure.Code, c.Measure.Memorandum, "item", c.Measure.Item)
		}
	}
	// Output:
	// 2024-02-01 allowed: true
	// 2024-03-01 allowed: false
	//   ENV-03 发改财金〔2016〕1580号 item 3
}

// An objection filed on 2024-02-08 suspends disclosure at once; its
// two-working-day forwarding deadline lands on the worked Sunday after the
// Spring Festival.
func ExampleEngine_State() {
	e := zhejiang()
	l, ref := listing()
	filed := schemas.NewTime(time.Date(2024, 2, 8, 9, 0, 0, 0, cst))
	obj := &schemas.Objection{
		Header: schemas.Header{Region: "330000", Submitter: "12330000000007771X", CreatedAt: filed},
		Target: ref, SubjectKey: l.Subject.USCC, Grounds: []string{"fact_error"}, Statement: "监测数据无误",
		FiledAt: filed, ProvidingUnit: l.Authority,
	}
	h := sanctions.ListingHistory{Ref: ref, Listing: l, Events: []sanctions.Event{
		{Ref: schemas.Ref{Origin: ref.Origin, Index: 9, Hash: "0909090909090909090909090909090909090909090909090909090909090909"}, Seq: 9, Record: obj},
	}}
	st, err := e.State(h, time.Date(2024, 2, 19, 12, 0, 0, 0, cst))
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, "disclosed:", st.Disclosed, "restricts:", st.Restricts)
	for _, d := range st.Deadlines[:3] {
		fmt.Println(d.What, d.Due, "met:", d.Met, "overdue:", d.Overdue)
	}
	// Output:
	// suspended disclosed: false restricts: true
	// mark 2024-02-09 met: true overdue: false
	// correct_or_forward 2024-02-18 met: true overdue: false
	// provider_answer 2024-02-21 met: false overdue: false
}
