package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"time"
)

// Valid identifiers computed independently (DOMAIN.md section 5 and a
// separate script), not by the code under test.
const (
	usccZJEnv     = "11330000002534129D" // Zhejiang ecology & environment dept (test code)
	usccHZChem    = "91330100143689503K"
	usccSHTourism = "11310000425001324B"
	usccAgency    = "91310101630012348X"
	testHash      = "h1:3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f"
	testLeafHash  = "abababababababababababababababababababababababababababababababab"
)

func d(s string) Date {
	v, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func tm(s string) Time {
	v, err := ParseTime(s)
	if err != nil {
		panic(err)
	}
	return v
}

func hdr() Header {
	return Header{Region: "330000", Submitter: usccZJEnv, CreatedAt: tm("2026-03-01T08:00:00Z")}
}

func ref(i uint64) Ref { return Ref{Origin: "creditx.330000/ledger", Index: i, Hash: testLeafHash} }

func testPerson() Person {
	return Person{IDHash: testHash, IDMasked: "330102********123X", NameMasked: "王**"}
}

func sampleListing() *Listing {
	return &Listing{
		Header: hdr(),
		Subject: Subject{Type: SubjectEnterprise, Name: "杭州某化工有限公司", USCC: usccHZChem,
			ResponsiblePersons: []ResponsiblePerson{{Role: "legal_representative", Person: testPerson()}}},
		Domain:              "environment",
		Programme:           Programme{Code: "ZJ-ENV-SEVERE", CriteriaVersion: "2025.1"},
		Authority:           Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
		Decision:            DocRef{DocNo: "浙环信〔2026〕17号", Date: d("2026-02-20")},
		LegalBasis:          []LegalBasis{{Law: "中华人民共和国环境保护法", Article: "第六十三条"}},
		UnderlyingDecisions: []UnderlyingDecision{{Kind: "penalty", DocNo: "罚字〔2025〕88号", Date: d("2025-11-03")}},
		Reason:              "falsified automatic monitoring data <&> \"quoted\"",
		PreNotice:           PreNotice{Date: d("2026-01-10"), StatementDeadline: d("2026-01-20")},
		ListedOn:            d("2026-02-25"),
		PublicityEnd:        d("2029-02-24"),
		RemovalConditions:   "publicity period ends",
		Remedies:            "objection within 15 days",
		Disclosure:          "public",
		SourceUnit:          Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv},
		Evidence:            []Evidence{{Name: "decision.pdf", SHA256: testLeafHash}},
	}
}

func sampleNotice() *SanctionNotice {
	return &SanctionNotice{
		Header:  hdr(),
		Listing: ref(0),
		Measure: Measure{Code: "ENV-07", CatalogueVersion: "2026.1", Memorandum: "发改财金〔2016〕1580号", Item: "7",
			Text: "restrict government procurement", LegalBasis: "政府采购法 第二十二条", Mandatory: true,
			Scope: "general", AppliesTo: []string{"enterprise", "responsible_persons"}},
		ExecutingAgency: ExecutingAgency{Name: "上海市财政局", USCC: usccSHTourism, DeptType: "procurement"},
		Target:          Target{Kind: "enterprise", USCC: usccHZChem},
		Start:           d("2026-03-01"),
		End:             d("2029-02-24"),
		FeedbackDue:     d("2026-03-15"),
	}
}

func sampleFeedback() *Feedback {
	return &Feedback{Header: hdr(), Notice: ref(1), Agency: Agency{Name: "上海市财政局", USCC: usccSHTourism},
		Outcome: "applied", CaseRef: "CG-2026-001", ActedAt: tm("2026-03-05T09:30:00Z")}
}

func sampleObjection() *Objection {
	return &Objection{Header: hdr(), Target: ref(0), SubjectKey: usccHZChem, Grounds: []string{"fact_error"},
		Statement: "the monitoring data were not falsified", FiledAt: tm("2026-03-02T10:00:00Z"),
		ProvidingUnit: Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv}}
}

func sampleDecision() *ObjectionDecision {
	return &ObjectionDecision{Header: hdr(), Objection: ref(3), Decision: "partial",
		Actions: []string{"correct", "supplement"}, DecidedAt: tm("2026-03-09T10:00:00Z"),
		Authority: Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv}}
}

func sampleRepair() *Repair {
	return &Repair{Header: hdr(), Listing: ref(0), Type: "early_repair",
		Application: &RepairApplication{Date: d("2027-03-01"), Evidence: []Evidence{{Name: "rectification.pdf", SHA256: testLeafHash}}},
		Decision:    RepairDecision{Authority: Agency{Name: "浙江省生态环境厅", USCC: usccZJEnv}, DocNo: "浙环修〔2027〕3号", Date: d("2027-03-20")},
		Effects:     []string{"remove", "stop_publicity"}, MinPeriodMet: true}
}

func sampleCorrection() *Correction {
	l := sampleListing()
	l.Reason = "corrected reason"
	rep, err := Encode(l)
	if err != nil {
		panic(err)
	}
	return &Correction{Header: hdr(), Target: ref(0), Action: "amend", Reason: "typo in reason", Replacement: rep}
}

func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	priv := ed25519.NewKeyFromSeed(s)
	return priv.Public().(ed25519.PublicKey), priv
}

func sampleRegister(seed byte) *Governance {
	pub, _ := testKey(seed)
	return &Governance{Header: hdr(), Action: ActionAgencyKeyRegister, AgencyKeyRegister: &AgencyKeyRegister{
		Agency: GovAgency{Name: "浙江省生态环境厅", USCC: usccZJEnv, Region: "330000"},
		KeyID:  KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub),
		Roles: []string{"publish"}, Domains: []string{"environment"}}}
}

func sampleRevoke(seed byte) *Governance {
	pub, _ := testKey(seed)
	return &Governance{Header: hdr(), Action: ActionAgencyKeyRevoke,
		AgencyKeyRevoke: &AgencyKeyRevoke{KeyID: KeyID(pub), Reason: "key compromised"}}
}

func sampleMemberApprove() *Governance {
	return &Governance{Header: hdr(), Action: ActionMemberApprove, MemberApprove: &MemberApprove{
		Code: "330300", Name: "温州市信用中心", Endpoint: "https://credit.wenzhou.example/",
		LogVKey:     "creditx.330300/ledger+f21b640e+AY81dDL4iZ8U7fabZtSokzwsFo9x59mGOCVJPNB80B6A",
		WitnessVKey: "witness.330300+99b15baa+AZIdEr0qesCNBxbYzs5X0BzisQIRIwT1b1NpzRXeXsoM"}}
}

// allSamples returns one valid record of every kind.
func allSamples() []Record {
	return []Record{sampleListing(), sampleNotice(), sampleFeedback(), sampleObjection(), sampleDecision(),
		sampleRepair(), sampleCorrection(), sampleRegister(1), sampleRevoke(1), sampleMemberApprove(),
		&Governance{Header: hdr(), Action: ActionMemberRemove, MemberRemove: &MemberRemove{Code: "330300"}},
		&Governance{Header: hdr(), Action: ActionSchemaAdopt, SchemaAdopt: &SchemaAdopt{Schema: "listing/v2"}},
		&Governance{Header: hdr(), Action: ActionCatalogueAdopt, CatalogueAdopt: &CatalogueAdopt{Version: "2026.2", SHA256: testLeafHash}},
	}
}

var fixedNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
