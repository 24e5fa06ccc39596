package schemas

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// TestCheckPlaintext (issue 14 item 3): personal data in a free-text or
// masked field is refused with the field named; genuine records pass.
func TestCheckPlaintext(t *testing.T) {
	const id = "11010519491231002X"
	sealed := func() Person {
		p, _, err := SealPerson(MatchKey{1}, id, "张三丰", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := func(f func(*Listing)) *Listing {
		r := sampleListing()
		r.Subject.ResponsiblePersons[0].Person = sealed()
		f(r)
		return r
	}
	person := func(f func(*Listing)) *Listing {
		return l(func(r *Listing) {
			p := sealed()
			r.Subject = Subject{Type: SubjectNaturalPerson, Name: p.NameMasked, Person: &p}
			f(r)
		})
	}
	cases := []struct {
		name        string
		rec         Record
		field, rule string
	}{
		{"id in reason", l(func(r *Listing) { r.Reason = "法定代表人" + id + "伪造数据" }), "reason", "plaintext_id"},
		{"id lower-case x in reason", l(func(r *Listing) { r.Reason = "id 11010519491231002x." }), "reason", "plaintext_id"},
		{"id with spaces", l(func(r *Listing) { r.Reason = "身份证 110105 19491231 002X" }), "reason", "plaintext_id"},
		{"full-width id", l(func(r *Listing) { r.Reason = "１１０１０５１９４９１２３１００２X" }), "reason", "plaintext_id"},
		{"id in subject.name", l(func(r *Listing) { r.Subject.Name = "某公司 " + id }), "subject.name", "plaintext_id"},
		{"id in doc_no", l(func(r *Listing) { r.Decision.DocNo = "浙环〔" + id + "〕号" }), "decision.doc_no", "plaintext_id"},
		{"id in underlying doc_no", l(func(r *Listing) { r.UnderlyingDecisions[0].DocNo = id }), "underlying_decisions[0].doc_no", "plaintext_id"},
		{"phone in remedies", l(func(r *Listing) { r.Remedies = "call 13912345678" }), "remedies", "plaintext_phone"},
		{"full name in name_masked", l(func(r *Listing) { r.Subject.ResponsiblePersons[0].Person.NameMasked = "张三丰" }), "subject.responsible_persons[0].person.name_masked", "masked_name"},
		{"natural person full name", person(func(r *Listing) { r.Subject.Person.NameMasked = "李四"; r.Subject.Name = "李四" }), "subject.person.name_masked", "masked_name"},
		{"ten-digit mask", l(func(r *Listing) { r.Subject.ResponsiblePersons[0].Person.IDMasked = "110105********002X" }), "subject.responsible_persons[0].person.id_masked", "masked_id"},
		{"sealed plain base64 id", l(func(r *Listing) {
			r.Subject.ResponsiblePersons[0].Person.Sealed = base64.StdEncoding.EncodeToString([]byte(id))
		}), "subject.responsible_persons[0].person.sealed", "sealed_format"},
		{"sealed plain base64 json", l(func(r *Listing) {
			r.Subject.ResponsiblePersons[0].Person.Sealed = base64.StdEncoding.EncodeToString([]byte(`{"id":"` + id + `","name":"张三丰","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))
		}), "subject.responsible_persons[0].person.sealed", "sealed_format"},
		{"id in a notice reason", func() Record { n := sampleNotice(); n.Measure.Text = "对 " + id + " 限制"; return n }(), "measure.text", "plaintext_id"},
	}
	for _, c := range cases {
		errs := CheckPlaintext(c.rec)
		found := false
		for _, fe := range errs {
			if fe.Field == c.field && fe.Rule == c.rule {
				found = true
			}
			if strings.Contains(fe.Message, id) {
				t.Errorf("%s: the error repeats the ID: %s", c.name, fe.Message)
			}
		}
		if !found {
			t.Errorf("%s: no %s/%s in %v", c.name, c.field, c.rule, errs)
		}
	}
	// Genuine records pass: every sample, sealed persons (many, since the
	// sealed check is probabilistic), numbers that are not IDs.
	for _, r := range allSamples() {
		if p, ok := r.(*Listing); ok {
			p.Subject.ResponsiblePersons[0].Person = sealed()
		}
		if errs := CheckPlaintext(r); errs != nil {
			t.Errorf("%s: %v", r.SchemaID(), errs)
		}
	}
	for i := 0; i < 2000; i++ {
		if errs := CheckPlaintext(person(func(*Listing) {})); errs != nil {
			t.Fatalf("genuine sealed person refused: %v", errs)
		}
	}
	ok := []string{"罚字〔2025〕88号", "110105194912310021 1", "a11010519491231002X", "11010519491231002Y", "2019-05-06 2020-01-02 1234", "12345678901"}
	for _, s := range ok {
		if msg := ScanPersonalText(s); msg != "" {
			t.Errorf("ScanPersonalText(%q) = %q, want nothing", s, msg)
		}
	}
}

func FuzzScanPersonalText(f *testing.F) {
	f.Add("身份证 110105 19491231 002X")
	f.Add("１１０１０５１９４９１２３１００２X")
	f.Fuzz(func(t *testing.T, s string) {
		msg := ScanPersonalText(s)
		if msg != "" && countDigits(s) < 11 {
			t.Fatalf("%q: %s with fewer than 11 digits", s, msg)
		}
	})
}
