package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"strconv"

	"github.com/creditx/creditx/ledger"
)

func (tn *testNode) client(role string) *http.Client {
	if role == "public" {
		pool := tn.creds["auditor"].Client.Transport.(*http.Transport).TLSClientConfig.RootCAs
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	return tn.creds[role].Client
}

func do(t *testing.T, c *http.Client, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAuthorizationMatrix has every role try every endpoint; only what the
// role may do succeeds.
func TestAuthorizationMatrix(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub := tn.creds["publisher"]
	// One enterprise listing with a sealed responsible person, one restricted.
	l, err := synth.Listing(1, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
		MatchKey: *pub.MatchKey, Rand: rand.Reader, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	personal, _ := pub.Sign(l)
	restricted := tn.listing(t, 2, func(l *schemas.Listing) { l.Disclosure = "restricted" })
	rs, err := pub.Submit(ctx, tn.url, personal, restricted)
	if err != nil {
		t.Fatal(err)
	}
	personHash := l.Subject.ResponsiblePersons[0].Person.IDHash
	roles := []string{"public", "publish", "execute", "audit", "admin", "replica"}
	credsOf := map[string]string{"publish": "publisher", "execute": "executor", "audit": "auditor", "admin": "admin", "replica": "replica", "public": "public"}
	newListing := func(i uint64) func() []byte { return func() []byte { return tn.listing(t, 100+i, nil) } }
	type row struct {
		method, path string
		body         func() []byte
		want         map[string]int // by role; missing = 403
	}
	all := func(code int) map[string]int {
		m := map[string]int{}
		for _, r := range roles {
			m[r] = code
		}
		return m
	}
	rows := []row{
		{"GET", "/ledger/330000/checkpoint", nil, all(200)},
		{"GET", "/v1/status", nil, all(200)},
		{"GET", fmt.Sprintf("/v1/records/330000/%d?purpose=approval", rs[0].Index), nil, all(200)},
		{"GET", fmt.Sprintf("/v1/records/330000/%d", rs[1].Index), nil, map[string]int{"public": 404, "publish": 200, "execute": 200, "audit": 200, "admin": 200, "replica": 200}},
		{"GET", "/v1/subjects/" + l.Subject.USCC + "?purpose=approval", nil, all(200)}, // its listing names a responsible person
		{"GET", "/v1/subjects/" + personHash + "?purpose=approval", nil, map[string]int{"public": 403, "publish": 200, "execute": 200, "audit": 200, "admin": 200, "replica": 200}},
		{"GET", "/v1/check?subject=" + l.Subject.USCC, nil, map[string]int{"public": 401, "execute": 200, "audit": 200, "admin": 200}},
		{"GET", "/v1/access-log", nil, map[string]int{"public": 401, "audit": 200, "admin": 200}},
		{"GET", "/metrics", nil, map[string]int{"public": 401, "audit": 200, "admin": 200, "replica": 200}},
		{"POST", "/internal/v1/apply", func() []byte { return []byte("not a command") }, map[string]int{"public": 401, "replica": 400}},
	}
	for i, r := range roles {
		rows = append(rows, row{"POST", "/v1/records", newListing(uint64(i)), map[string]int{"public": 401, "publish": 200, "execute": 403, "audit": 403, "admin": 403, "replica": 403}})
		_ = r
	}
	for _, rw := range rows {
		for _, role := range roles {
			want, ok := rw.want[role]
			if !ok {
				want = 403
			}
			var body []byte
			if rw.body != nil {
				body = rw.body()
			}
			got, b := do(t, tn.client(credsOf[role]), rw.method, tn.url+rw.path, body)
			if got != want {
				t.Errorf("%s %s as %s: status %d, want %d (%.200s)", rw.method, rw.path, role, got, want, b)
			}
		}
	}
	// Every personal-data read above is in the access log, with its purpose.
	var al struct {
		Size    uint64            `json:"size"`
		Entries []json.RawMessage `json:"entries"`
	}
	if err := tn.creds["auditor"].Get(ctx, tn.url+"/v1/access-log", &al); err != nil {
		t.Fatal(err)
	}
	if al.Size != 15 { // publish, execute, audit, admin, replica each read the personal record, the enterprise naming the person and the person's subject view
		t.Errorf("access log has %d entries, want 15", al.Size)
	}
	for _, e := range al.Entries {
		var ar node.AccessRecord
		json.Unmarshal(e, &ar)
		if ar.Purpose != "approval" || !(strings.Contains(ar.What, personHash) || strings.Contains(ar.What, "record ")) || ar.Who == "" {
			t.Errorf("access record %s lacks who/what/purpose", e)
		}
	}
	// The public view of the personal listing carries masked data only.
	_, b := do(t, tn.client("public"), "GET", fmt.Sprintf("%s/v1/records/330000/%d", tn.url, rs[0].Index), nil)
	if bytes.Contains(b, []byte("id_hash")) || bytes.Contains(b, []byte("sealed")) || !bytes.Contains(b, []byte("id_masked")) {
		t.Errorf("public view leaks or lacks personal fields: %s", b)
	}
}

// TestBadInput: each bad submission gets its specific status and field, and
// the ledger is unchanged.
func TestBadInput(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub := tn.creds["publisher"]
	good := tn.listing(t, 7, nil)
	wrongVersion := bytes.Replace(good, []byte(`"schema":"listing/v1"`), []byte(`"schema":"listing/v9"`), 1)
	badUSCC := tn.listing(t, 8, func(l *schemas.Listing) { l.Subject.USCC = "91110000600037341N" })
	noBasis := tn.listing(t, 9, func(l *schemas.Listing) { l.LegalBasis = nil })
	tooLarge := bytes.Repeat([]byte("x"), 9<<20)
	other := tn.listing(t, 10, func(l *schemas.Listing) { l.Region = "310000" })
	// a record signed by a key that was never registered
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	lst, _ := synth.Listing(11, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}})
	unknownKey, _ := schemas.Sign(lst, stranger)
	cases := []struct {
		name  string
		body  []byte
		code  int
		field string
	}{
		{"malformed JSON", []byte(`[{"key":`), 400, ""},
		{"not an envelope", []byte(`{"hello":"world"}`), 400, ""},
		{"wrong schema version", wrongVersion, 422, "record.schema"},
		{"bad USCC check", badUSCC, 422, "record.subject.uscc"},
		{"no legal basis", noBasis, 422, "record.legal_basis"},
		{"oversize body", tooLarge, 413, ""},
		{"other region", other, 422, "record.region"},
		{"unknown key", unknownKey, 403, "key"},
		{"one bad in a batch", []byte("[" + string(good) + "," + string(badUSCC) + "]"), 422, "record.subject.uscc"},
	}
	before := tn.size(t)
	for _, c := range cases {
		code, b := do(t, pub.Client, "POST", tn.url+"/v1/records", c.body)
		if code != c.code {
			t.Errorf("%s: status %d, want %d: %.300s", c.name, code, c.code, b)
			continue
		}
		if c.field != "" && !bytes.Contains(b, []byte(`"field": "`+c.field)) {
			t.Errorf("%s: answer does not name field %s: %.400s", c.name, c.field, b)
		}
	}
	if after := tn.size(t); after != before {
		t.Fatalf("ledger grew from %d to %d after rejected submissions", before, after)
	}

	// A revoked key is refused from the revocation on.
	if _, err := pub.Submit(ctx, tn.url, good); err != nil {
		t.Fatal(err)
	}
	admin := tn.creds["admin"]
	g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: schemas.KeyID(pub.SignKey.Public().(ed25519.PublicKey)), Reason: "key compromised"}}
	rev, _ := admin.Sign(g)
	if _, err := admin.Submit(ctx, tn.url, rev); err != nil {
		t.Fatal(err)
	}
	before = tn.settledSize(t)
	_, err := pub.Submit(ctx, tn.url, tn.listing(t, 12, nil))
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("record signed by revoked key: err = %v, want 403", err)
	}
	if tn.size(t) != before {
		t.Fatal("ledger changed after a revoked-key submission")
	}
	// Resubmitting a record accepted before the revocation is still idempotent.
	rs, err := pub.Submit(ctx, tn.url, good)
	if err == nil && !rs[0].Duplicate {
		t.Fatal("resubmission not marked duplicate")
	}
}

// TestReceiptVerifies checks an acknowledgement with code we did not write:
// note.Open for the checkpoint and tlog.CheckRecord for the inclusion proof.
func TestReceiptVerifies(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	var entries [][]byte
	for i := range 20 {
		entries = append(entries, tn.listing(t, uint64(200+i), nil))
	}
	rs, err := tn.creds["publisher"].Submit(ctx, tn.url, entries...)
	if err != nil {
		t.Fatal(err)
	}
	_, v := noteKeys(t, tn.dir, "log")
	for i, r := range rs {
		n, err := note.Open([]byte(r.Checkpoint), note.VerifierList(v))
		if err != nil {
			t.Fatalf("receipt %d: checkpoint does not verify: %v", i, err)
		}
		lines := strings.Split(n.Text, "\n")
		size, _ := strconv.ParseInt(lines[1], 10, 64)
		root, err := tlog.ParseHash(lines[2])
		if err != nil {
			t.Fatal(err)
		}
		p, err := ledger.ParseProof([]byte(r.Proof))
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p.Hashes, size, root, int64(r.Index), tlog.RecordHash(entries[i])); err != nil {
			t.Fatalf("receipt %d: inclusion proof: %v", i, err)
		}
		// A flipped bit in the proof must fail.
		if len(p.Hashes) > 0 {
			p.Hashes[0][0] ^= 1
			if tlog.CheckRecord(p.Hashes, size, root, int64(r.Index), tlog.RecordHash(entries[i])) == nil {
				t.Fatal("tampered proof verified")
			}
		}
	}
}
