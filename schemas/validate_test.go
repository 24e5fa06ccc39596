package schemas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestValidateSamples(t *testing.T) {
	v := NewValidator(nil)
	for _, r := range allSamples() {
		if err := v.Validate(r); err != nil {
			t.Errorf("%s: %v", r.SchemaID(), err)
		}
	}
}

type validateCase struct {
	name    string
	rec     func() Record
	field   string // expected FieldError.Field
	rule    string // expected FieldError.Rule
	message string // substring of the message, optional
}

func runValidateCases(t *testing.T, v *Validator, tests []validateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate(tt.rec())
			var ve ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want ValidationErrors", err)
			}
			for _, fe := range ve {
				if fe.Field == tt.field && fe.Rule == tt.rule && strings.Contains(fe.Message, tt.message) {
					return
				}
			}
			t.Errorf("no error %s/%s %q in %v", tt.field, tt.rule, tt.message, ve)
		})
	}
}

func TestValidateListing(t *testing.T) {
	l := func(f func(*Listing)) func() Record {
		return func() Record { r := sampleListing(); f(r); return r }
	}
	runValidateCases(t, NewValidator(nil), []validateCase{
		{"bad subject uscc", l(func(r *Listing) { r.Subject.USCC = "91110000600037341N" }), "subject.uscc", "uscc", "check character is N, expected L"},
		{"bad submitter", l(func(r *Listing) { r.Submitter = "91350100M000100Y4" }), "submitter", "uscc", "length 17, want 18"},
		{"bad region", l(func(r *Listing) { r.Region = "990000" }), "region", "division", "province prefix 99"},
		{"no created_at", l(func(r *Listing) { r.CreatedAt = Time{} }), "created_at", "required", "required"},
		{"unknown domain", l(func(r *Listing) { r.Domain = "fishing" }), "domain", "domain", `unknown domain "fishing"`},
		{"bad subject type", l(func(r *Listing) { r.Subject.Type = "company" }), "subject.type", "subject_type", "must be one of"},
		{"no legal basis", l(func(r *Listing) { r.LegalBasis = nil }), "legal_basis", "required", ""},
		{"legal basis without law", l(func(r *Listing) { r.LegalBasis[0].Law = "" }), "legal_basis[0].law", "required", ""},
		{"bad disclosure", l(func(r *Listing) { r.Disclosure = "secret" }), "disclosure", "oneof", "public, restricted, none"},
		{"bad evidence digest", l(func(r *Listing) { r.Evidence[0].SHA256 = "ABC" }), "evidence[0].sha256", "sha256hex", ""},
		{"bad role", l(func(r *Listing) { r.Subject.ResponsiblePersons[0].Role = "boss" }), "subject.responsible_persons[0].role", "oneof", ""},
		{"bad person hash", l(func(r *Listing) { r.Subject.ResponsiblePersons[0].Person.IDHash = "11010519491231002X" }), "subject.responsible_persons[0].person.id_hash", "idhash", ""},
		{"unmasked id", l(func(r *Listing) { r.Subject.ResponsiblePersons[0].Person.IDMasked = "11010519491231002X" }), "subject.responsible_persons[0].person.id_masked", "masked_id", ""},
		{"organisation without uscc", l(func(r *Listing) { r.Subject.USCC = "" }), "subject.uscc", "required_unless", ""},
		{"organisation with person", l(func(r *Listing) { p := testPerson(); r.Subject.Person = &p }), "subject.person", "excluded_unless", ""},
		{"person without person", l(func(r *Listing) {
			r.Subject = Subject{Type: SubjectNaturalPerson, Name: "王**"}
		}), "subject.person", "required_if", ""},
		{"person with uscc", l(func(r *Listing) {
			p := testPerson()
			r.Subject = Subject{Type: SubjectNaturalPerson, Name: "王**", USCC: usccHZChem, Person: &p}
		}), "subject.uscc", "excluded_if", ""},
		{"person with plaintext name", l(func(r *Listing) {
			p := testPerson()
			r.Subject = Subject{Type: SubjectNaturalPerson, Name: "王小明", Person: &p}
		}), "subject.name", "masked", ""},
		{"publicity before listing", l(func(r *Listing) { r.PublicityEnd = d("2026-02-01") }), "publicity_end", "order", "must be on or after listed_on"},
		{"decision after listing", l(func(r *Listing) { r.Decision.Date = d("2026-02-26") }), "listed_on", "order", "decision.date"},
		{"pre-notice on listing day", l(func(r *Listing) { r.PreNotice.Date = d("2026-02-25") }), "listed_on", "order", "after pre_notice.date"},
		{"deadline before notice", l(func(r *Listing) { r.PreNotice.StatementDeadline = d("2026-01-09") }), "pre_notice.statement_deadline", "order", ""},
		{"listed before deadline", l(func(r *Listing) { r.PreNotice.StatementDeadline = d("2026-02-26") }), "listed_on", "order", "pre_notice.statement_deadline"},
		{"underlying after decision", l(func(r *Listing) { r.UnderlyingDecisions[0].Date = d("2026-02-21") }), "decision.date", "order", "underlying_decisions[0].date"},
		{"reason too long", l(func(r *Listing) { r.Reason = strings.Repeat("长", 4001) }), "reason", "max", "at most 4000 characters"},
	})
}

func TestValidateOtherKinds(t *testing.T) {
	n := func(f func(*SanctionNotice)) func() Record {
		return func() Record { r := sampleNotice(); f(r); return r }
	}
	g := func(f func(*Governance)) func() Record {
		return func() Record { r := sampleRegister(1); f(r); return r }
	}
	runValidateCases(t, NewValidator(nil), []validateCase{
		{"notice end before start", n(func(r *SanctionNotice) { r.End = d("2026-02-01") }), "end", "order", ""},
		{"notice due before start", n(func(r *SanctionNotice) { r.FeedbackDue = d("2026-02-01") }), "feedback_due", "order", ""},
		{"person measure without basis", n(func(r *SanctionNotice) { r.Measure.LegalBasis = "" }), "measure.legal_basis", "required_if", "natural persons"},
		{"bad applies_to", n(func(r *SanctionNotice) { r.Measure.AppliesTo = []string{"everyone"} }), "measure.applies_to[0]", "oneof", ""},
		{"bad scope", n(func(r *SanctionNotice) { r.Measure.Scope = "wide" }), "measure.scope", "oneof", ""},
		{"bad ref origin", n(func(r *SanctionNotice) { r.Listing.Origin = "creditx.330000" }), "listing.origin", "origin", ""},
		{"bad ref hash", n(func(r *SanctionNotice) { r.Listing.Hash = "xyz" }), "listing.hash", "sha256hex", ""},
		{"enterprise target without uscc", n(func(r *SanctionNotice) { r.Target.USCC = "" }), "target.uscc", "required_if", ""},
		{"person target without hash", n(func(r *SanctionNotice) { r.Target = Target{Kind: "responsible_person"} }), "target.id_hash", "required_if", ""},
		{"target not covered", n(func(r *SanctionNotice) { r.Measure.AppliesTo = []string{"responsible_persons"} }), "target.kind", "applies_to", ""},
		{"feedback n/a without reason", func() Record { r := sampleFeedback(); r.Outcome = "not_applicable"; return r }, "reason", "required_if", ""},
		{"feedback reason when applied", func() Record { r := sampleFeedback(); r.Reason = "x"; return r }, "reason", "excluded_unless", ""},
		{"feedback bad outcome", func() Record { r := sampleFeedback(); r.Outcome = "ignored"; return r }, "outcome", "oneof", ""},
		{"objection bad ground", func() Record { r := sampleObjection(); r.Grounds = []string{"dislike"}; return r }, "grounds[0]", "oneof", ""},
		{"objection duplicate grounds", func() Record { r := sampleObjection(); r.Grounds = []string{"privacy", "privacy"}; return r }, "grounds", "unique", ""},
		{"objection bad subject key", func() Record { r := sampleObjection(); r.SubjectKey = "someone"; return r }, "subject_key", "subject_key", ""},
		{"decision without actions", func() Record { r := sampleDecision(); r.Actions = nil; return r }, "actions", "required_unless", ""},
		{"rejected with actions", func() Record { r := sampleDecision(); r.Decision = "rejected"; return r }, "actions", "excluded_if", ""},
		{"early repair before period", func() Record { r := sampleRepair(); r.MinPeriodMet = false; return r }, "min_period_met", "required_if", ""},
		{"early repair without application", func() Record { r := sampleRepair(); r.Application = nil; return r }, "application", "required_if", ""},
		{"repair decided before application", func() Record { r := sampleRepair(); r.Decision.Date = d("2027-02-01"); return r }, "decision.date", "order", ""},
		{"repair bad effect", func() Record { r := sampleRepair(); r.Effects = []string{"forget"}; return r }, "effects[0]", "oneof", ""},
		{"amend without replacement", func() Record { r := sampleCorrection(); r.Replacement = nil; return r }, "replacement", "required_if", ""},
		{"withdraw with replacement", func() Record { r := sampleCorrection(); r.Action = "withdraw"; return r }, "replacement", "excluded_if", ""},
		{"replacement invalid", func() Record {
			l := sampleListing()
			l.Subject.USCC = "91110000600037341N"
			b, _ := Encode(l)
			r := sampleCorrection()
			r.Replacement = b
			return r
		}, "replacement.subject.uscc", "uscc", "expected L"},
		{"replacement not canonical", func() Record { r := sampleCorrection(); r.Replacement = []byte(`{"schema": "listing/v1"}`); return r }, "replacement", "record", "not canonical"},
		{"replacement is correction", func() Record {
			b, _ := Encode(sampleCorrection())
			r := sampleCorrection()
			r.Replacement = b
			return r
		}, "replacement", "record", "another correction"},
		{"governance missing params", g(func(r *Governance) { r.AgencyKeyRegister = nil }), "agency_key_register", "required_if", ""},
		{"governance extra params", g(func(r *Governance) { r.MemberRemove = &MemberRemove{Code: "330300"} }), "member_remove", "excluded_unless", "must be absent when action is agency_key_register"},
		{"governance bad action", g(func(r *Governance) { r.Action = "delete_everything" }), "action", "oneof", ""},
		{"key id mismatch", g(func(r *Governance) { r.AgencyKeyRegister.KeyID = "0000000000000000" }), "agency_key_register.key_id", "keyid", "public key's id"},
		{"bad public key", g(func(r *Governance) { r.AgencyKeyRegister.PublicKey = "AAAA" }), "agency_key_register.public_key", "ed25519pub", ""},
		{"bad role", g(func(r *Governance) { r.AgencyKeyRegister.Roles = []string{"admin"} }), "agency_key_register.roles[0]", "oneof", ""},
		{"bad key domain", g(func(r *Governance) { r.AgencyKeyRegister.Domains = []string{"fishing"} }), "agency_key_register.domains[0]", "domain", ""},
		{"bad vkey", func() Record { r := sampleMemberApprove(); r.MemberApprove.LogVKey = "nope"; return r }, "member_approve.log_vkey", "vkey", ""},
		{"http endpoint", func() Record {
			r := sampleMemberApprove()
			r.MemberApprove.Endpoint = "http://x.example/"
			return r
		}, "member_approve.endpoint", "startswith", "https://"},
		{"bad schema id", func() Record {
			return &Governance{Header: hdr(), Action: ActionSchemaAdopt, SchemaAdopt: &SchemaAdopt{Schema: "listing/2"}}
		}, "schema_adopt.schema", "schema_id", ""},
	})
}

func TestValidateOptions(t *testing.T) {
	l := sampleListing()
	l.Domain = "fishing"
	l.Subject.USCC = "91350100M0001TGQXM"
	v := NewValidator(&Options{Domains: []string{"fishing"}, USCCAllow: USCCAllowList{}})
	err := v.Validate(l)
	var ve ValidationErrors
	if !errors.As(err, &ve) || len(ve) != 1 || ve[0].Field != "subject.uscc" {
		t.Errorf("custom options: %v, want only subject.uscc", err)
	}
	// The default allow-list accepts the Fujian pilot code.
	v2 := NewValidator(&Options{Domains: []string{"fishing"}})
	if err := v2.Validate(l); err != nil {
		t.Errorf("default allow-list: %v", err)
	}
	// Options are copied: changing them later has no effect.
	opts := &Options{AcceptedSchemas: []string{SchemaFeedback}}
	v3 := NewValidator(opts)
	opts.AcceptedSchemas[0] = SchemaListing
	err = v3.Validate(sampleListing())
	if !errors.As(err, &ve) || ve[0].Rule != "schema" {
		t.Errorf("AcceptedSchemas: %v", err)
	}
	if err := Validate(nil, nil); err == nil {
		t.Error("nil record accepted")
	}
	if err := Validate((*Listing)(nil), nil); err == nil {
		t.Error("typed nil record accepted")
	}
}

func TestValidateTestdataInvalid(t *testing.T) {
	want := map[string]string{ // file -> field (or decode reason) expected
		"invalid_uscc_check.json":               "subject.uscc",
		"invalid_no_legal_basis.json":           "legal_basis",
		"invalid_publicity_before_listing.json": "publicity_end",
		"invalid_unknown_domain.json":           "domain",
		"invalid_person_with_uscc.json":         "subject.uscc",
		"invalid_duplicate_key.json":            "duplicate key",
		"invalid_float.json":                    "not an integer",
	}
	files, _ := filepath.Glob("testdata/invalid_*.json")
	if len(files) != len(want) {
		t.Fatalf("testdata has %d invalid files, table has %d", len(files), len(want))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exp := want[filepath.Base(f)]
		canon, err := Canonicalize(raw)
		if err != nil {
			if !strings.Contains(err.Error(), exp) {
				t.Errorf("%s: %v, want %q", f, err, exp)
			}
			continue
		}
		r, _ := Decode(canon)
		err = Validate(r, nil)
		if err == nil || !strings.Contains(err.Error(), exp+":") {
			t.Errorf("%s: %v, want an error on %s", f, err, exp)
		}
	}
}

func TestValidatorConcurrent(t *testing.T) {
	v := NewValidator(nil)
	recs := allSamples()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				r := recs[(i+j)%len(recs)]
				if err := v.Validate(r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkValidateListing(b *testing.B) {
	v := NewValidator(nil)
	l := sampleListing()
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeListing(b *testing.B) {
	l := sampleListing()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeListing(b *testing.B) {
	enc, err := Encode(sampleListing())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
