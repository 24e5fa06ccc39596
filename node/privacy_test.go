package node_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// accessLog reads the whole access log as the auditor.
func (tn *testNode) accessLog(t *testing.T) []node.AccessRecord {
	t.Helper()
	var al struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := tn.creds["auditor"].Get(context.Background(), tn.url+"/v1/access-log?limit=1000", &al); err != nil {
		t.Fatal(err)
	}
	out := make([]node.AccessRecord, len(al.Entries))
	for i, e := range al.Entries {
		if err := json.Unmarshal(e, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestEntryBundlesOfRestrictedContent (issue 14 item 1): a restricted
// listing's entry bundle is refused without a certificate and logged when a
// credential reads it; checkpoints and hash tiles stay public, and a bundle
// of public records only stays public.
func TestEntryBundlesOfRestrictedContent(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	seeded := tn.settledSize(t) // governance records only
	publicBundle := "/ledger/330000/" + ledger.EntriesPath(0, int(seeded))
	restricted := tn.listing(t, 1, func(l *schemas.Listing) { l.Disclosure = "restricted"; l.Reason = "restricted facts 4711" })
	rs, err := tn.creds["publisher"].Submit(ctx, tn.url, restricted)
	if err != nil {
		t.Fatal(err)
	}
	size := rs[0].Index + 1
	bundle := "/ledger/330000/" + ledger.EntriesPath(0, int(size))

	code, b := do(t, tn.client("public"), "GET", tn.url+bundle, nil)
	if code != 401 || strings.Contains(string(b), "4711") {
		t.Errorf("public read of a restricted bundle: %d %.200s, want 401 without content", code, b)
	}
	for _, p := range []string{"/ledger/330000/checkpoint", "/ledger/330000/" + ledger.TilePath(0, 0, int(size)), publicBundle} {
		if code, b := do(t, tn.client("public"), "GET", tn.url+p, nil); code != 200 {
			t.Errorf("public GET %s: %d %.200s, want 200", p, code, b)
		}
	}
	before := len(tn.accessLog(t))
	for _, role := range []string{"auditor", "executor", "admin", "publisher"} {
		code, b := do(t, tn.client(role), "GET", tn.url+bundle+"?purpose=audit", nil)
		if code != 200 || !strings.Contains(string(b), "4711") {
			t.Errorf("%s read of a restricted bundle: %d, want 200 with the record", role, code)
		}
	}
	after := tn.accessLog(t)
	var logged int
	for _, ar := range after[before:] {
		if strings.Contains(ar.What, "entry bundle creditx.330000/ledger/"+ledger.EntriesPath(0, int(size))) && ar.Purpose == "audit" {
			logged++
		}
	}
	if logged != 4 {
		t.Errorf("%d of 4 credentialed bundle reads in the access log: %+v", logged, after[before:])
	}
	// The replica credential (raft catch-up tooling) reads it too, unlogged in the access log.
	if code, _ := do(t, tn.client("replica"), "GET", tn.url+bundle, nil); code != 200 {
		t.Errorf("replica read of a restricted bundle: %d", code)
	}
}

// personListing is a public listing whose subject is natural person n.
func (tn *testNode) personListing(t *testing.T, i uint64) ([]byte, *schemas.Person) {
	t.Helper()
	p := tn.creds["publisher"]
	person, _, err := schemas.SealPerson(*p.MatchKey, synth.PersonID("330000", i), "李四光", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := tn.listing(t, i, func(l *schemas.Listing) {
		l.Subject = schemas.Subject{Type: schemas.SubjectNaturalPerson, Name: person.NameMasked, Person: &person}
	})
	return e, &person
}

// TestNaturalPersonListingsNotPublic (issue 14 item 2): a natural person's
// listing is absent from every public route and page, masked or not; every
// credentialed read needs a purpose and is logged.
func TestNaturalPersonListingsNotPublic(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	e, person := tn.personListing(t, 21)
	rs, err := tn.creds["publisher"].Submit(ctx, tn.url, e)
	if err != nil {
		t.Fatal(err)
	}
	rec := fmt.Sprintf("/v1/records/330000/%d", rs[0].Index)
	masked := person.IDMasked
	for _, p := range []string{rec, "/", "/?q=" + url.QueryEscape(person.NameMasked), "/v1/subjects/" + person.IDHash} {
		code, b := do(t, tn.client("public"), "GET", tn.url+p, nil)
		shown := strings.Contains(string(b), masked) || strings.Contains(string(b), person.IDHash) ||
			(!strings.Contains(p, "q=") && strings.Contains(string(b), person.NameMasked)) // the search box echoes the query
		if code == 200 && shown {
			t.Errorf("public GET %s shows the person: %.300s", p, b)
		}
	}
	if code, _ := do(t, tn.client("public"), "GET", tn.url+rec, nil); code != 404 {
		t.Errorf("public GET %s: %d, want 404", rec, code)
	}
	// Credentialed: no purpose, refused; with one, answered and logged.
	if code, _ := do(t, tn.client("executor"), "GET", tn.url+rec, nil); code != 400 {
		t.Errorf("executor GET without purpose: %d, want 400", code)
	}
	before := len(tn.accessLog(t))
	if code, b := do(t, tn.client("executor"), "GET", tn.url+rec+"?purpose=approval", nil); code != 200 || !strings.Contains(string(b), masked) {
		t.Errorf("executor GET with purpose: %d %.200s", code, b)
	}
	if al := tn.accessLog(t); len(al) != before+1 || al[before].Purpose != "approval" {
		t.Errorf("the credentialed read is not logged with its purpose: %+v", al[before:])
	}
}

// TestAdmissionRefusesPlaintext (issue 14 item 3): records signed by a real
// publisher that carry personal data where it does not belong are refused
// with the field named, and nothing is written.
func TestAdmissionRefusesPlaintext(t *testing.T) {
	tn := startNode(t)
	pub := tn.creds["publisher"]
	id := synth.PersonID("330000", 77)
	withPerson := func(f func(*schemas.Listing)) []byte {
		return tn.listing(t, 30, func(l *schemas.Listing) {
			p, _, err := schemas.SealPerson(*pub.MatchKey, id, "王五", rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			l.Subject.ResponsiblePersons = []schemas.ResponsiblePerson{{Role: "legal_representative", Person: p}}
			f(l)
		})
	}
	cases := []struct {
		name, field, rule string
		e                 []byte
	}{
		{"full name as name_masked", "record.subject.responsible_persons[0].person.name_masked", "masked_name",
			withPerson(func(l *schemas.Listing) { l.Subject.ResponsiblePersons[0].Person.NameMasked = "王五" })},
		{"id in reason", "record.reason", "plaintext_id", withPerson(func(l *schemas.Listing) { l.Reason = "负责人身份证" + id })},
		{"id in subject.name", "record.subject.name", "plaintext_id", withPerson(func(l *schemas.Listing) { l.Subject.Name += id })},
		{"id in doc_no", "record.decision.doc_no", "plaintext_id", withPerson(func(l *schemas.Listing) { l.Decision.DocNo = id })},
		{"sealed is base64 of the id", "record.subject.responsible_persons[0].person.sealed", "sealed_format",
			withPerson(func(l *schemas.Listing) {
				l.Subject.ResponsiblePersons[0].Person.Sealed = base64.StdEncoding.EncodeToString([]byte(id))
			})},
	}
	before := tn.settledSize(t)
	for _, c := range cases {
		code, b := do(t, pub.Client, "POST", tn.url+"/v1/records", c.e)
		if code != 422 || !strings.Contains(string(b), `"field": "`+c.field+`"`) || !strings.Contains(string(b), `"rule": "`+c.rule+`"`) {
			t.Errorf("%s: %d %.500s, want 422 naming %s (%s)", c.name, code, b, c.field, c.rule)
		}
		if strings.Contains(string(b), id) {
			t.Errorf("%s: the answer repeats the ID", c.name)
		}
	}
	if after := tn.size(t); after != before {
		t.Errorf("ledger grew %d -> %d after refused submissions", before, after)
	}
	// The genuine record is accepted.
	if _, err := pub.Submit(context.Background(), tn.url, withPerson(func(*schemas.Listing) {})); err != nil {
		t.Errorf("genuine record refused: %v", err)
	}
}

// TestBatchCheckLogsOnceAndCountsSubjects (issue 14 item 6): a batch check
// of 1000 citizen IDs writes one access-log entry naming every person, and
// costs 1000 subject tokens, so the next such batch is refused with 429 and
// writes nothing.
func TestBatchCheckLogsOnceAndCountsSubjects(t *testing.T) {
	tn := startNode(t)
	key := *tn.creds["publisher"].MatchKey
	var req node.BatchCheckRequest
	want := map[string]bool{}
	for i := range 1000 {
		id := synth.PersonID("330000", uint64(5000+i))
		req.Subjects = append(req.Subjects, id)
		want[key.HashID(id)[:35]] = true
	}
	req.Action = "procurement"
	req.Purpose = "approval"
	body, _ := json.Marshal(req)
	before := len(tn.accessLog(t))
	code, b := do(t, tn.client("executor"), "POST", tn.url+"/v1/check", body)
	if code != 200 {
		t.Fatalf("batch check: %d %.300s", code, b)
	}
	al := tn.accessLog(t)
	if len(al) != before+1 {
		t.Fatalf("batch check of 1000 persons wrote %d access-log entries, want 1", len(al)-before)
	}
	got := al[before]
	if len(got.Subjects) != 1000 || got.Purpose != "approval" || got.Who != tn.creds["executor"].Identity.ID {
		t.Errorf("aggregated entry: %d subjects, purpose %q, who %q", len(got.Subjects), got.Purpose, got.Who)
	}
	for _, s := range got.Subjects {
		if !want[s] {
			t.Errorf("entry names %s, not one of the checked persons", s)
			break
		}
	}
	// The subject budget is spent: the same batch again is refused, unlogged.
	code, b = do(t, tn.client("executor"), "POST", tn.url+"/v1/check", body)
	if code != 429 || !strings.Contains(string(b), "subjects") {
		t.Errorf("second batch right after: %d %.200s, want 429 counting subjects", code, b)
	}
	if n := len(tn.accessLog(t)); n != before+1 {
		t.Errorf("refused batch changed the access log: %d entries, want %d", n, before+1)
	}
	// Another client has its own budget.
	if code, _ := do(t, tn.client("auditor"), "POST", tn.url+"/v1/check", body); code != 200 {
		t.Errorf("auditor batch: %d, want 200", code)
	}
}
