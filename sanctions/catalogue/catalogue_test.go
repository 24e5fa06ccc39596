package catalogue

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != "2026.2" {
		t.Errorf("Version = %q", c.Version())
	}
	// Exactly one sample red list; every black list is not red.
	var red []string
	for _, p := range c.Programmes() {
		if p.Red {
			red = append(red, p.Code)
		}
	}
	if len(red) != 1 || red[0] != "ZJ-ENV-RED" {
		t.Errorf("red programmes = %v, want [ZJ-ENV-RED]", red)
	}
	sum := sha256.Sum256(DefaultFile())
	if c.Digest() != hex.EncodeToString(sum[:]) || len(c.Digest()) != 64 {
		t.Errorf("Digest = %s, want sha256 of the file", c.Digest())
	}
	if !strings.Contains(c.Source(), "public summaries") {
		t.Errorf("source does not say it comes from public summaries: %q", c.Source())
	}
	for _, domain := range []string{"environment", "tourism", "food_drug", "product_quality"} {
		if n := len(c.MeasuresFor(domain, "")); n < 6 {
			t.Errorf("%s has %d measures, want >= 6", domain, n)
		}
	}
	// Programme period rules (DOMAIN.md 4 defaults).
	tests := []struct {
		code, domain, lead string
		months             int
		early              bool
		minMonths          int
		requires           string
	}{
		{"ZJ-ENV-SEVERE", "environment", "330000", 60, true, 12, "environment"},
		{"SH-TOUR-BLACKLIST", "tourism", "310000", 24, true, 12, ""},
		{"JS-FOOD-DRUG-SEVERE", "food_drug", "320000", 36, false, 0, ""},
		{"AH-QUALITY-SEVERE", "product_quality", "340000", 60, true, 12, ""},
	}
	for _, tt := range tests {
		p, ok := c.Programme(tt.code)
		if !ok {
			t.Errorf("programme %s missing", tt.code)
			continue
		}
		if p.Red || p.Domain != tt.domain || p.LeadMember != tt.lead || p.PublicityMonths != tt.months ||
			p.Repair.EarlyAllowed != tt.early || p.Repair.MinMonths != tt.minMonths ||
			p.Repair.RequiresAuthority != tt.requires || p.Repair.DecidedBy != "listing_authority" {
			t.Errorf("%s = %+v", tt.code, p)
		}
		want := Objection{Mark: 1, CorrectOrForward: 2, ProviderAnswer: 5, Decide: 5, DecideExtended: 20}
		if p.Objection != want || p.FeedbackWorkdays != 10 {
			t.Errorf("%s deadlines = %+v feedback %d", tt.code, p.Objection, p.FeedbackWorkdays)
		}
	}
	if _, ok := c.Programme("NOPE"); ok {
		t.Error("unknown programme found")
	}
}

func TestQueries(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := c.Measure("FD-02")
	if !ok || m.Domain != "food_drug" || m.Memorandum.Number != "发改财金〔2016〕1962号" || len(m.LegalBasis) == 0 {
		t.Fatalf("FD-02 = %+v, %v", m, ok)
	}
	// Accessors return copies: changing one must not change the catalogue.
	m.Actions[0] = "changed"
	if again, _ := c.Measure("FD-02"); again.Actions[0] == "changed" {
		t.Error("Measure returned shared slice")
	}
	for _, m := range c.MeasuresFor("food_drug", "responsible_persons") {
		if !contains(m.AppliesTo, "responsible_persons") || m.Domain != "food_drug" || len(m.LegalBasis) == 0 {
			t.Errorf("MeasuresFor returned %+v", m)
		}
	}
	if got := codes(c.MeasuresFor("food_drug", "responsible_persons")); got != "FD-02,FD-03,FD-04" {
		t.Errorf("food_drug responsible persons = %s", got)
	}
	if got := codes(c.MeasuresForAction("procurement")); got != "ENV-03,FD-06,TOUR-02,PQ-06" {
		t.Errorf("procurement measures = %s", got)
	}
	if got := codes(c.MeasuresForAction("customs_cert")); got != "ENV-07" {
		t.Errorf("customs_cert measures = %s", got)
	}
	if len(c.MeasuresFor("tax", "")) != 0 || len(c.MeasuresForAction("nothing")) != 0 {
		t.Error("unknown domain or action matched")
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func codes(ms []Measure) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Code)
	}
	return strings.Join(s, ",")
}

const miniCatalogue = `version: "2026.1"
source: test
domains:
  - {code: environment, name: {zh: 生态环境, en: Environment}}
measures:
  - code: ENV-01
    domain: environment
    text: {zh: 限制, en: Restrict}
    memorandum: {number: N, title: T}
    item: "1"
    legal_basis: []
    executor: land
    actions: [land]
    force: mandatory
    scope: general
    applies_to: [enterprise]
    source: s
programmes:
  - code: ZJ-ENV-SEVERE
    domain: environment
    name: {zh: 名单, en: List}
    lead_member: "330000"
    publicity_months: 60
    repair: {early_allowed: true, min_months: 12, decided_by: listing_authority}
    source: s
`

func TestLoadDefaultsApplied(t *testing.T) {
	c, err := Load(strings.NewReader(miniCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Programme("ZJ-ENV-SEVERE")
	want := Objection{DefaultMark, DefaultCorrectOrForward, DefaultProviderAnswer, DefaultDecide, DefaultDecideExtended}
	if p.Objection != want || p.FeedbackWorkdays != DefaultFeedback {
		t.Errorf("defaults not applied: %+v %d", p.Objection, p.FeedbackWorkdays)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string // each a substring of the joined error
	}{
		{"bad version", `version: "2026.1"`, `version: "v1"`, []string{`catalogue: version: "v1" is not YYYY.N`}},
		{"unknown key", "source: test", "source: test\nowner: x", []string{"field owner not found"}},
		{"duplicate code", "programmes:", "  - code: ENV-01\n    domain: environment\n    text: {zh: a, en: b}\n    memorandum: {title: T}\n    item: \"2\"\n    executor: land\n    actions: [land]\n    force: mandatory\n    scope: general\n    applies_to: [enterprise]\n    source: s\nprogrammes:", []string{"measure ENV-01: code: used by more than one measure"}},
		{"unknown domain", "    domain: environment\n    text", "    domain: tax\n    text", []string{`measure ENV-01: domain: "tax" is not a declared domain (declared: environment)`}},
		{"persons without legal basis", "applies_to: [enterprise]", "applies_to: [enterprise, responsible_persons]", []string{"measure ENV-01: legal_basis: required because applies_to includes responsible_persons"}},
		{"bad target", "applies_to: [enterprise]", "applies_to: [citizens]", []string{`measure ENV-01: applies_to: "citizens" is not enterprise or responsible_persons`}},
		{"bad action and executor", "executor: land\n    actions: [land]", "executor: police\n    actions: [land, arrest]", []string{`measure ENV-01: executor: "police" is not one of`, `measure ENV-01: actions: "arrest" is not one of`}},
		{"bad force and scope", "force: mandatory\n    scope: general", "force: maybe\n    scope: wide", []string{"measure ENV-01: force:", "measure ENV-01: scope:"}},
		{"missing text", "text: {zh: 限制, en: Restrict}", "text: {zh: 限制}", []string{"measure ENV-01: text.en: required"}},
		{"missing code", "  - code: ENV-01\n", "  - code: \"\"\n", []string{`measure #1: code: "" is not like ENV-01`}},
		{"legal basis without article", "legal_basis: []", "legal_basis: [{law: 某法}]", []string{"measure ENV-01: legal_basis[0]: law and article are both required"}},
		{"programme domain", "    domain: environment\n    name", "    domain: tax\n    name", []string{`programme ZJ-ENV-SEVERE: domain: "tax" is not a declared domain`}},
		{"programme lead", `lead_member: "330000"`, `lead_member: "33"`, []string{"programme ZJ-ENV-SEVERE: lead_member:"}},
		{"min months when not allowed", "early_allowed: true, min_months: 12", "early_allowed: false, min_months: 12", []string{"repair.min_months: must be 0 when early repair is not allowed"}},
		{"min months missing", "early_allowed: true, min_months: 12", "early_allowed: true", []string{"repair.min_months: 0 must be in 1-60"}},
		{"requires unknown authority", "decided_by: listing_authority}", "decided_by: listing_authority, requires_authority: police}", []string{`repair.requires_authority: "police" is not a declared domain`}},
		{"CRLF", "source: test\n", "source: test\r\n", []string{"carriage return at byte"}},
		{"two documents", "source: test\n", "source: test\n---\nversion: x\n", []string{"file: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(miniCatalogue, tt.old) {
				t.Fatalf("test bug: %q not in miniCatalogue", tt.old)
			}
			in := strings.Replace(miniCatalogue, tt.old, tt.new, 1)
			c, err := Load(strings.NewReader(in))
			if err == nil || c != nil {
				t.Fatalf("Load succeeded")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v is not a *FieldError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// decide_extended shorter than decide.
	in := strings.Replace(miniCatalogue, "decided_by: listing_authority}", "decided_by: listing_authority}\n    objection: {decide: 10, decide_extended: 8}", 1)
	if _, err := Load(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "objection.decide_extended: 8 is shorter than decide (10)") {
		t.Errorf("decide_extended < decide: %v", err)
	}
	// A BOM is refused.
	if _, err := Load(bytes.NewReader(append([]byte("\xef\xbb\xbf"), miniCatalogue...))); err == nil {
		t.Error("BOM accepted")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(DefaultFile())
	f.Add([]byte(miniCatalogue))
	f.Add([]byte("version: \"2026.1\"\nmeasures: [{code: &a A-1}, {code: *a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(bytes.NewReader(data))
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			return
		}
		sum := sha256.Sum256(data)
		if c.Digest() != hex.EncodeToString(sum[:]) {
			t.Fatal("digest is not the file's SHA-256")
		}
		for _, m := range c.Measures() {
			got, ok := c.Measure(m.Code)
			if !ok || got.Code != m.Code {
				t.Fatalf("Measure(%q) not found", m.Code)
			}
			if contains(m.AppliesTo, "responsible_persons") && len(m.LegalBasis) == 0 {
				t.Fatalf("%s: persons without legal basis accepted", m.Code)
			}
		}
		for _, p := range c.Programmes() {
			if p.Objection.DecideExtended < p.Objection.Decide || p.FeedbackWorkdays <= 0 {
				t.Fatalf("%s: bad deadlines %+v", p.Code, p)
			}
		}
	})
}
