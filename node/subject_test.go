package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
)

// subjectFixture is a node with three listings: an enterprise naming a
// responsible person (A), another enterprise (B), and a natural person (C).
type subjectFixture struct {
	tn                 *testNode
	a, b, c            node.Receipt
	usccA, usccB       string
	personC, respA     string // citizen IDs (plaintext, never to be seen)
	nameRespA, nameC   string // plaintext names (sealed)
	issue              func(t *testing.T, req subjecttoken.IssueRequest) string
	accessSizeAtIssue  uint64
	personListingIndex uint64
}

func newSubjectFixture(t *testing.T) *subjectFixture {
	t.Helper()
	tn := startNode(t)
	pub := tn.creds["publisher"]
	auth := schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}
	now := time.Now().UTC().Add(-time.Hour)
	la, err := synth.Listing(970, synth.Options{Region: "330000", Authority: auth, MatchKey: *pub.MatchKey, Rand: rand.Reader, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := synth.Listing(971, synth.Options{Region: "330000", Authority: auth, MatchKey: *pub.MatchKey, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := synth.Listing(973, // 973: tourism, with measures for natural persons
		synth.Options{Region: "330000", Authority: auth, MatchKey: *pub.MatchKey, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	idC := synth.PersonID("330000", 8972)
	p, _, err := schemas.SealPerson(*pub.MatchKey, idC, "李四", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lc.Subject = schemas.Subject{Type: schemas.SubjectNaturalPerson, Name: p.NameMasked, Person: &p}
	lc.Disclosure = "restricted"
	var entries [][]byte
	for _, l := range []*schemas.Listing{la, lb, lc} {
		e, err := pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	rs, err := pub.Submit(context.Background(), tn.url, entries...)
	if err != nil {
		t.Fatal(err)
	}
	key, err := client.ReadSignKey(filepath.Join(tn.dir, "keys", "issuer.key"))
	if err != nil {
		t.Fatal(err)
	}
	f := &subjectFixture{tn: tn, a: rs[0], b: rs[1], c: rs[2], usccA: la.Subject.USCC, usccB: lb.Subject.USCC,
		personC: idC, respA: synth.PersonID("330000", 970), nameRespA: "张三", nameC: "李四"}
	f.issue = func(t *testing.T, req subjecttoken.IssueRequest) string {
		t.Helper()
		req.Region = "330000"
		tok, _, err := subjecttoken.Issue(key, pub.MatchKey, req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return f
}

func subjectDo(t *testing.T, tn *testNode, tok, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, tn.url+path, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := tn.client("public").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

func (f *subjectFixture) self(t *testing.T, tok string) (node.SubjectSelf, []byte) {
	t.Helper()
	code, body := subjectDo(t, f.tn, tok, "GET", "/v1/subject", nil)
	if code != 200 {
		t.Fatalf("GET /v1/subject: %d %s", code, body)
	}
	var sv node.SubjectSelf
	if err := json.Unmarshal(body, &sv); err != nil {
		t.Fatal(err)
	}
	return sv, body
}

func (f *subjectFixture) accessLog(t *testing.T) []node.AccessRecord {
	t.Helper()
	var out struct{ Entries []json.RawMessage }
	if err := f.tn.creds["auditor"].Get(context.Background(), f.tn.url+"/v1/access-log", &out); err != nil {
		t.Fatal(err)
	}
	var recs []node.AccessRecord
	for _, e := range out.Entries {
		var a node.AccessRecord
		json.Unmarshal(e, &a)
		recs = append(recs, a)
	}
	return recs
}

// TestSubjectSeesOwnRecordsOnly: an organisation and a person each see
// exactly the listings naming them, masked, and every such read naming a
// person is in the access log; a token reads no other subject and no
// personal plaintext by any door.
func TestSubjectSeesOwnRecordsOnly(t *testing.T) {
	f := newSubjectFixture(t)
	f.tn.settledSize(t)
	plaintext := []string{f.personC, f.respA, f.nameRespA, f.nameC, `"id_hash"`, `"sealed"`}
	noPlain := func(who string, body []byte) {
		for _, s := range plaintext {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("%s: answer contains %q", who, s)
			}
		}
	}
	before := len(f.accessLog(t))

	// Organisation A: its one listing, as the subject, masked; B is not there.
	tokA := f.issue(t, subjecttoken.IssueRequest{USCC: f.usccA, Name: "A"})
	sv, body := f.self(t, tokA)
	if len(sv.Listings) != 1 || sv.Listings[0].Index != f.a.Index || sv.Listings[0].As != "subject" || sv.Status != "listed" {
		t.Fatalf("A sees %+v", sv)
	}
	if bytes.Contains(body, []byte(f.usccB)) {
		t.Error("A's view shows B")
	}
	noPlain("organisation A", body)
	if len(sv.Listings[0].Notices) == 0 {
		t.Errorf("A's view has no sanction notices: %s", body)
	}
	for _, nt := range sv.Listings[0].Notices {
		if nt.State == "" || nt.Agency == "" {
			t.Errorf("notice without state or agency: %+v", nt)
		}
	}
	// A's listing names a responsible person: the read is logged.
	log := f.accessLog(t)
	if len(log) <= before || log[len(log)-1].Role != "subject" || log[len(log)-1].Purpose != "subject_access" || log[len(log)-1].Who != f.usccA {
		t.Fatalf("A's read not logged as a subject's personal-data read: %+v", log[before:])
	}

	// Organisation B: its listing names no person: no access-log entry.
	tokB := f.issue(t, subjecttoken.IssueRequest{USCC: f.usccB})
	n0 := len(f.accessLog(t))
	svB, _ := f.self(t, tokB)
	if len(svB.Listings) != 1 || svB.Listings[0].Index != f.b.Index {
		t.Fatalf("B sees %+v", svB)
	}
	if n := len(f.accessLog(t)); n != n0 {
		t.Errorf("B's read (no person named) logged %d entries", n-n0)
	}

	// Person C: its own restricted listing, masked name, logged.
	tokC := f.issue(t, subjecttoken.IssueRequest{CitizenID: f.personC})
	svC, bodyC := f.self(t, tokC)
	if len(svC.Listings) != 1 || svC.Listings[0].Index != f.c.Index || svC.Kind != node.SubjectPerson {
		t.Fatalf("C sees %+v", svC)
	}
	noPlain("person C", bodyC)
	if !strings.Contains(svC.Listings[0].Name, "*") && !strings.Contains(svC.Listings[0].Name, "某") {
		t.Errorf("C's name is not masked: %q", svC.Listings[0].Name)
	}
	log = f.accessLog(t)
	if last := log[len(log)-1]; last.Role != "subject" || !strings.HasPrefix(last.Who, "h1:") {
		t.Errorf("C's read not logged: %+v", last)
	}

	// The responsible person of A sees A's listing, as responsible person.
	tokR := f.issue(t, subjecttoken.IssueRequest{CitizenID: f.respA})
	svR, bodyR := f.self(t, tokR)
	if len(svR.Listings) != 1 || svR.Listings[0].Index != f.a.Index || svR.Listings[0].As != "responsible_person" {
		t.Fatalf("A's responsible person sees %+v", svR)
	}
	noPlain("responsible person", bodyR)

	// No other door opens with a token: another subject, a person's record,
	// the vault. The token is not a consortium credential.
	hC := strings.TrimPrefix(svC.Subject, "")
	for _, p := range []string{"/v1/subjects/" + hC + "?purpose=objection", fmt.Sprintf("/v1/records/330000/%d", f.c.Index),
		fmt.Sprintf("/v1/vault/330000/%d?purpose=objection", f.a.Index), "/v1/subject?subject=" + f.usccB, "/v1/access-log"} {
		code, body := subjectDo(t, f.tn, tokA, "GET", p, nil)
		if p == "/v1/subject?subject="+f.usccB {
			if code != 200 || bytes.Contains(body, []byte(f.usccB)) {
				t.Errorf("%s: %d, shows B", p, code)
			}
			continue
		}
		if code == 200 {
			t.Errorf("token of A reads %s: %d %.200s", p, code, body)
		}
		noPlain(p, body)
	}
	// A forged or foreign token reads nothing.
	if code, _ := subjectDo(t, f.tn, tokA[:len(tokA)-4]+"AAAA", "GET", "/v1/subject", nil); code != 401 {
		t.Errorf("tampered token: %d", code)
	}
	if code, _ := subjectDo(t, f.tn, "", "GET", "/v1/subject", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	// Revoked by serial: refused.
	st, _, _, err := subjecttoken.Parse(tokB)
	if err != nil {
		t.Fatal(err)
	}
	if err := subjecttoken.Revoke(filepath.Join(f.tn.dir, node.SubjectRevokedFile), st.Serial, "test"); err != nil {
		t.Fatal(err)
	}
	if code, _ := subjectDo(t, f.tn, tokB, "GET", "/v1/subject", nil); code != 401 {
		t.Errorf("revoked token: %d", code)
	}
	// A objects only to its own listing (owner rule), and writes nothing.
	size := f.tn.settledSize(t)
	obj, _ := json.Marshal(node.SubjectObjectionRequest{Origin: "creditx.330000/ledger", Index: f.b.Index, Grounds: []string{"fact_error"}, Statement: "不是我们"})
	if code, body := subjectDo(t, f.tn, tokA, "POST", "/v1/subject/objections", obj); code != 403 || !bytes.Contains(body, []byte("owner")) {
		t.Errorf("A objects to B: %d %s", code, body)
	}
	if s := f.tn.size(t); s != size {
		t.Errorf("refused objection wrote: size %d -> %d", size, s)
	}
}

// TestSubjectObjection: the subject files an objection online; disclosure
// is suspended at once (public record and register), and the subject sees
// the objection pending with its working-day deadlines. Bad input is
// refused with field errors and writes nothing.
func TestSubjectObjection(t *testing.T) {
	f := newSubjectFixture(t)
	tokB := f.issue(t, subjecttoken.IssueRequest{USCC: f.usccB})
	size := f.tn.settledSize(t)
	for _, c := range []struct {
		req   node.SubjectObjectionRequest
		field string
	}{
		{node.SubjectObjectionRequest{Origin: f.b.Origin, Index: f.b.Index, Statement: "x"}, "grounds"},
		{node.SubjectObjectionRequest{Origin: f.b.Origin, Index: f.b.Index, Grounds: []string{"dislike"}, Statement: "x"}, "grounds"},
		{node.SubjectObjectionRequest{Origin: f.b.Origin, Index: f.b.Index, Grounds: []string{"fact_error"}}, "statement"},
		{node.SubjectObjectionRequest{Origin: "creditx.999999/ledger", Index: 1, Grounds: []string{"fact_error"}, Statement: "x"}, "origin"},
	} {
		b, _ := json.Marshal(c.req)
		code, body := subjectDo(t, f.tn, tokB, "POST", "/v1/subject/objections", b)
		if code != 422 || !bytes.Contains(body, []byte(`"field": "`+c.field+`"`)) {
			t.Errorf("%+v: %d %s", c.req, code, body)
		}
	}
	if code, _ := subjectDo(t, f.tn, tokB, "POST", "/v1/subject/objections", []byte(`{"origin":1}`)); code != 400 {
		t.Errorf("malformed: %d", code)
	}
	if s := f.tn.size(t); s != size {
		t.Fatalf("refused objections wrote: size %d -> %d", size, s)
	}
	pubPath := fmt.Sprintf("/v1/records/330000/%d", f.b.Index)
	if code, _ := do(t, f.tn.client("public"), "GET", f.tn.url+pubPath, nil); code != 200 {
		t.Fatalf("B's listing not public before the objection: %d", code)
	}
	b, _ := json.Marshal(node.SubjectObjectionRequest{Origin: f.b.Origin, Index: f.b.Index, Grounds: []string{"fact_error", "wrong_listing"}, Statement: "处罚决定已被撤销"})
	code, body := subjectDo(t, f.tn, tokB, "POST", "/v1/subject/objections", b)
	if code != 200 {
		t.Fatalf("objection: %d %s", code, body)
	}
	var rc node.Receipt
	json.Unmarshal(body, &rc)
	// The objection is a signed record in the ledger, bound to B.
	var rv node.RecordView
	if err := f.tn.creds["auditor"].Get(context.Background(), fmt.Sprintf("%s/v1/records/330000/%d", f.tn.url, rc.Index), &rv); err != nil {
		t.Fatal(err)
	}
	var o schemas.Objection
	if err := json.Unmarshal(rv.Record, &o); err != nil || rv.Kind != "objection" || o.SubjectKey != f.usccB || o.Target.Index != f.b.Index {
		t.Fatalf("ledger entry %d: kind %s %+v %v", rc.Index, rv.Kind, o, err)
	}
	// Disclosure suspended: not public, not on the register.
	if code, _ := do(t, f.tn.client("public"), "GET", f.tn.url+pubPath, nil); code != 404 {
		t.Errorf("B's listing still public under objection: %d", code)
	}
	_, reg := do(t, f.tn.client("public"), "GET", f.tn.url+"/?q="+f.usccB, nil)
	if bytes.Contains(reg, []byte(f.usccB+"</code>")) {
		t.Error("register shows the listing under objection")
	}
	sv, _ := f.self(t, tokB)
	l := sv.Listings[0]
	if l.State != node.StateSuspended || l.Disclosed || len(l.Objections) != 1 || l.Objections[0].Outcome != "pending" {
		t.Fatalf("after the objection: %+v", l)
	}
	due := ""
	for _, d := range l.Deadlines {
		if d.What == "decide" {
			due = d.Due
		}
	}
	if due == "" || due <= time.Now().UTC().Format("2006-01-02") {
		t.Errorf("no future decision deadline: %+v", l.Deadlines)
	}
	// The page shows it in Chinese with the deadline.
	code, page := subjectDo(t, f.tn, tokB, "GET", "/subject", nil)
	if code != 200 || !bytes.Contains(page, []byte("异议中")) || !bytes.Contains(page, []byte(due)) {
		t.Errorf("/subject: %d\n%.800s", code, page)
	}

	// The listing authority decides (rejected) today, within the deadline:
	// the subject follows it to the decision and disclosure resumes.
	pub := f.tn.creds["publisher"]
	dec := &schemas.ObjectionDecision{Header: schemas.Header{Region: "330000", Submitter: pub.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Objection: schemas.Ref{Origin: rc.Origin, Index: rc.Index, Hash: rc.LeafHash}, Decision: "rejected",
		DecidedAt: schemas.NewTime(time.Now()), Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}}
	de, err := pub.Sign(dec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Submit(context.Background(), f.tn.url, de); err != nil {
		t.Fatal(err)
	}
	sv, _ = f.self(t, tokB)
	l = sv.Listings[0]
	if l.State != node.StateActive || !l.Disclosed || l.Objections[0].Outcome != "rejected" || l.Objections[0].Decision == "" {
		t.Fatalf("after the decision: %+v", l)
	}
	for _, d := range l.Deadlines {
		if d.What == "decide" && (!d.Met || d.Overdue || d.Done == "") {
			t.Errorf("decision deadline not met: %+v", d)
		}
	}
	if code, _ := do(t, f.tn.client("public"), "GET", f.tn.url+pubPath, nil); code != 200 {
		t.Errorf("listing not public again after the rejection: %d", code)
	}
}
