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
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// TestRouteScanPerRole (issue 14, "a route scan ... with each role"): every
// GET route the node serves, called with each consortium credential and each
// wildcard filled by every value naming personal content (the persons' IDs
// in plaintext among them), with a purpose, answers no plaintext: no citizen
// ID, no full name, no data key. The one exception is the vault's opening
// (GET /v1/vault/...) for the record's submitter and the credit office,
// which must show it (so the scan can see plaintext where there is some) and
// is refused to everyone else. The lookup routes that take IDs in a body
// (POST /v1/check, POST /v1/persons/hash) answer hashes, never the ID.
func TestRouteScanPerRole(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub := tn.creds["publisher"]
	personE, person := tn.personListing(t, 49)
	personID, personName := synth.PersonID("330000", 49), "李四光"
	var dk schemas.DataKey
	l, err := synth.Listing(53, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
		MatchKey: *pub.MatchKey, Rand: rand.Reader, Now: time.Now().UTC().Add(-time.Hour), DataKeys: func(_ string, k schemas.DataKey) { dk = k }})
	if err != nil {
		t.Fatal(err)
	}
	withRP, _ := pub.Sign(l)
	rs, err := pub.Submit(ctx, tn.url, personE, withRP)
	if err != nil {
		t.Fatal(err)
	}
	rp := l.Subject.ResponsiblePersons[0].Person
	rpID, rpName, err := schemas.OpenPerson(rp, dk)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"keys":[{"person":"subject.responsible_persons[0].person","key":%q}]}`, base64.StdEncoding.EncodeToString(dk[:]))
	if err := pub.Put(ctx, fmt.Sprintf("%s/v1/vault/330000/%d", tn.url, rs[1].Index), []byte(body), &map[string]any{}); err != nil {
		t.Fatal(err)
	}
	size := tn.settledSize(t)
	secrets := map[string]string{"person's ID": personID, "person's name": personName, "responsible person's ID": rpID,
		"responsible person's name": rpName, "data key": base64.StdEncoding.EncodeToString(dk[:])}
	fill := map[string][]string{
		"{code}":    {"330000"},
		"{index}":   {fmt.Sprint(rs[0].Index), fmt.Sprint(rs[1].Index)},
		"{id}":      {person.IDHash, personID, rp.IDHash, rpID, l.Subject.USCC},
		"{hash}":    {"0000000000000000000000000000000000000000000000000000000000000000"},
		"{path...}": {"entries/" + strings.TrimPrefix(ledger.EntriesPath(0, int(size)), "tile/entries/"), "0/" + strings.TrimPrefix(ledger.TilePath(0, 0, int(size)), "tile/0/")},
	}
	var paths []string
	for _, pattern := range tn.n.Routes() {
		method, p, _ := strings.Cut(pattern, " ")
		if method != "GET" {
			continue
		}
		ps := []string{strings.Replace(p, "{$}", "", 1)}
		for w, vals := range fill {
			var next []string
			for _, q := range ps {
				if !strings.Contains(q, w) {
					next = append(next, q)
					continue
				}
				for _, v := range vals {
					next = append(next, strings.Replace(q, w, v, 1))
				}
			}
			ps = next
		}
		paths = append(paths, ps...)
	}
	vaultOpen := fmt.Sprintf("/v1/vault/330000/%d", rs[1].Index)
	scanned := 0
	for _, role := range []string{"publisher", "executor", "auditor", "admin"} {
		c := tn.client(role)
		for _, q := range paths {
			for _, suffix := range []string{"", "?purpose=audit&q=" + url.QueryEscape(person.NameMasked) + "&subject=" + personID} {
				code, b := do(t, c, "GET", tn.url+q+suffix, nil)
				scanned++
				if q == vaultOpen && suffix != "" && (role == "publisher" || role == "admin") {
					if code != 200 || !strings.Contains(string(b), rpID) || !strings.Contains(string(b), rpName) {
						t.Errorf("%s GET %s%s: %d %.200s; the submitter and the office must see the plaintext", role, q, suffix, code, b)
					}
					continue
				}
				for what, s := range secrets {
					if strings.Contains(string(b), s) {
						t.Errorf("%s GET %s%s (%d) shows the %s", role, q, suffix, code, what)
					}
				}
			}
		}
	}
	// The body-taking lookup routes.
	for _, role := range []string{"executor", "auditor", "admin"} {
		b, _ := json.Marshal(node.BatchCheckRequest{Subjects: []string{personID, rpID}, Purpose: "audit"})
		code, out := do(t, tn.client(role), "POST", tn.url+"/v1/check", b)
		scanned++
		for what, s := range secrets {
			if strings.Contains(string(out), s) {
				t.Errorf("%s POST /v1/check (%d) shows the %s", role, code, what)
			}
		}
		if code != 200 || !strings.Contains(string(out), person.IDHash) {
			t.Errorf("%s POST /v1/check: %d %.200s; want the answer under the person's keyed hash", role, code, out)
		}
	}
	for _, role := range []string{"publisher", "admin"} {
		b, _ := json.Marshal(node.PersonsHashRequest{IDs: []string{personID, rpID}, Purpose: "listing"})
		code, out := do(t, tn.client(role), "POST", tn.url+"/v1/persons/hash", b)
		scanned++
		for what, s := range secrets {
			if strings.Contains(string(out), s) {
				t.Errorf("%s POST /v1/persons/hash (%d) shows the %s", role, code, what)
			}
		}
	}
	t.Logf("%d credentialed requests scanned over %d GET paths", scanned, len(paths))
}
