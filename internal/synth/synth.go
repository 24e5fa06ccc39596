// Package synth makes synthetic but valid credit records for samples, tests,
// benchmarks and the demo. Everything is derived from a sequence number, so
// the same inputs always give the same record (except sealed personal data,
// which uses the random source given).
package synth

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/creditx/creditx/schemas"
)

// Domains are the four key domains with their sample programme, authority
// body and legal basis.
var Domains = []struct {
	Domain, Programme, Law, Article, Reason string
}{
	{"environment", "ZJ-ENV-SEVERE", "中华人民共和国环境保护法", "第六十三条", "超标排放污染物且拒不改正，经处罚后仍持续违法排放"},
	{"tourism", "SH-TOUR-BLACKLIST", "中华人民共和国旅游法", "第一百条", "旅行社组织游客至购物场所并索取回扣，情节严重"},
	{"food_drug", "JS-FOOD-DRUG-SEVERE", "中华人民共和国食品安全法", "第一百二十三条", "生产经营添加非食用物质的食品，情节严重"},
	{"product_quality", "AH-QUALITY-SEVERE", "中华人民共和国产品质量法", "第五十条", "在产品中掺杂、掺假，以假充真，以次充好"},
}

// Options shape a synthetic listing.
type Options struct {
	Region    string           // division code of the publishing member, e.g. "330000"
	Authority schemas.Agency   // the listing authority (also the submitter)
	Domain    string           // one of Domains; "" picks by sequence number
	MatchKey  schemas.MatchKey // to hash the responsible person's ID (unless HashID is set)
	// HashID, if set, computes the keyed hash of a citizen ID instead of
	// MatchKey: an agency asks its node (client.Credentials.HashIDs).
	HashID func(id string) (string, error)
	Rand   io.Reader // for sealing personal data; nil leaves Sealed empty-free: no responsible person
	// DataKeys, if set, is told the data key of every person sealed, with the
	// JSON path of its Person in the record (for the node's data-key vault).
	DataKeys func(path string, dk schemas.DataKey)
	Now      time.Time // created_at; zero means 2026-03-02T08:00:00Z
	PadTo    int       // grow the reason text so the signed entry is about this many bytes (0: no padding)
}

// EnterpriseUSCC is the synthetic USCC of enterprise number n in region.
func EnterpriseUSCC(region string, n uint64) string {
	code, err := schemas.CompleteUSCC(fmt.Sprintf("91%s%08d", region, n%100000000))
	if err != nil {
		panic(err)
	}
	return code
}

// PersonID is the synthetic citizen ID of person number n, born in region.
func PersonID(region string, n uint64) string {
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%14000))
	id, err := schemas.CompleteCitizenID(fmt.Sprintf("%s01%s%03d", region[:4], birth.Format("20060102"), n%1000))
	if err != nil {
		panic(err)
	}
	return id
}

// Listing returns synthetic listing number n.
func Listing(n uint64, o Options) (*schemas.Listing, error) {
	d := Domains[n%uint64(len(Domains))]
	if o.Domain != "" {
		found := false
		for _, x := range Domains {
			if x.Domain == o.Domain {
				d, found = x, true
			}
		}
		if !found {
			return nil, fmt.Errorf("synth: unknown domain %q", o.Domain)
		}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	}
	day := func(offset int) schemas.Date {
		t := now.AddDate(0, 0, offset)
		return schemas.NewDate(t.Year(), t.Month(), t.Day())
	}
	l := &schemas.Listing{
		Header: schemas.Header{Region: o.Region, Submitter: o.Authority.USCC, CreatedAt: schemas.NewTime(now)},
		Subject: schemas.Subject{
			Type: schemas.SubjectEnterprise,
			Name: fmt.Sprintf("合成样例企业%08d有限公司", n),
			USCC: EnterpriseUSCC(o.Region, n),
		},
		Domain:              d.Domain,
		Programme:           schemas.Programme{Code: d.Programme, CriteriaVersion: "2026.1"},
		Authority:           o.Authority,
		Decision:            schemas.DocRef{DocNo: fmt.Sprintf("列入决定〔2026〕%d号", n), Date: day(-1)},
		LegalBasis:          []schemas.LegalBasis{{Law: d.Law, Article: d.Article}},
		UnderlyingDecisions: []schemas.UnderlyingDecision{{Kind: "penalty", DocNo: fmt.Sprintf("行政处罚决定书〔2025〕%d号", n), Date: day(-60)}},
		Reason:              d.Reason,
		PreNotice:           schemas.PreNotice{Date: day(-30), StatementDeadline: day(-20)},
		ListedOn:            day(0),
		PublicityEnd:        day(publicityDays(d.Domain)),
		RemovalConditions:   "公示期满且已履行行政处罚决定、消除不良影响的，依申请移出",
		Remedies:            "对列入决定不服的，可依法申请行政复议或者提起行政诉讼",
		Disclosure:          "public",
		SourceUnit:          o.Authority,
		Evidence:            []schemas.Evidence{{Name: "处罚决定书.pdf", SHA256: fmt.Sprintf("%064x", n+1)}},
	}
	if o.Rand != nil {
		id := PersonID(o.Region, n)
		h := o.MatchKey.HashID(id)
		if o.HashID != nil {
			var err error
			if h, err = o.HashID(id); err != nil {
				return nil, err
			}
		}
		p, dk, err := schemas.SealPersonHashed(h, id, "张三", o.Rand)
		if err != nil {
			return nil, err
		}
		if o.DataKeys != nil {
			o.DataKeys("subject.responsible_persons[0].person", dk)
		}
		l.Subject.ResponsiblePersons = []schemas.ResponsiblePerson{{Role: "legal_representative", Person: p}}
	}
	if o.PadTo > 0 {
		b, err := schemas.Encode(l)
		if err != nil {
			return nil, err
		}
		// the signed envelope adds about 130 bytes (key id, signature, braces)
		if missing := o.PadTo - len(b) - 130; missing > 0 {
			l.Reason += "。" + strings.Repeat("详", missing/3)
		}
	}
	return l, nil
}

// publicityDays keeps a synthetic listing's publicity period within its
// programme's maximum (DOMAIN.md 4: tourism blacklist 2 years; the others
// allow 3 years or more), which admission enforces.
func publicityDays(domain string) int {
	if domain == "tourism" {
		return 2*365 - 1
	}
	return 3 * 365
}
