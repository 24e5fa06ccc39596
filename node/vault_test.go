package node_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node/nodetest"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestVault walks the data-key vault end to end on a real node: a publisher
// publishes a listing naming two sealed persons and stores their data keys;
// bad keys, bad paths and other agencies are refused; the submitter and the
// credit office read the plaintext with a purpose, each read adding one
// access-log entry; auditors, executors and the public cannot; the keys
// survive a restart of the same data directory; only the admin erases them,
// after which the plaintext is gone (404) and cannot be stored again (410).
func TestVault(t *testing.T) {
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "v-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "keys", "vault.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys/vault.key: %v, %v; want a 0600 file", fi, err)
	}
	cfg := *cfgs[0]
	cfg.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml") // no notices: the ledger grows only by what we submit
	n, stop := nodetest.Start(t, cfg)
	ctx := context.Background()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{dir: dir, n: n, url: n.URL(), creds: map[string]*client.Credentials{}}
	for _, name := range []string{"admin", "publisher", "executor", "auditor"} {
		if tn.creds[name], err = client.LoadCredentials(filepath.Join(dir, "agencies", name)); err != nil {
			t.Fatal(err)
		}
		if tn.creds[name].MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
			t.Fatal(err)
		}
	}
	// Another publishing agency of the same region.
	ca, err := pki.LoadCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency, ID: provision.DevUSCC("330000", "MB000009"),
		Name: "Other Department (test)", Domains: []string{"environment"}}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCredentials(filepath.Join(dir, "agencies", "other"), certPEM, keyPEM, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	if tn.creds["other"], err = client.LoadCredentials(filepath.Join(dir, "agencies", "other")); err != nil {
		t.Fatal(err)
	}

	// A listing of an enterprise with two sealed responsible persons.
	pub := tn.creds["publisher"]
	ids := []string{synth.PersonID("330000", 4242), synth.PersonID("330000", 4243)}
	names := []string{"张三丰", "李四光"}
	var keys []schemas.DataKey
	var persons []schemas.ResponsiblePerson
	for i := range ids {
		p, dk, err := schemas.SealPerson(*pub.MatchKey, ids[i], names[i], rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, dk)
		persons = append(persons, schemas.ResponsiblePerson{Role: "legal_representative", Person: p})
	}
	persons[1].Role = "principal"
	rs, err := pub.Submit(ctx, tn.url, tn.listing(t, 1, func(l *schemas.Listing) { l.Subject.ResponsiblePersons = persons }))
	if err != nil {
		t.Fatal(err)
	}
	vurl := fmt.Sprintf("%s/v1/vault/330000/%d", tn.url, rs[0].Index)
	path0, path1 := "subject.responsible_persons[0].person", "subject.responsible_persons[1].person"
	b64 := func(dk schemas.DataKey) string { return base64.StdEncoding.EncodeToString(dk[:]) }
	put := func(who string, ks ...[2]string) (int, string) {
		var req api.VaultPutRequest
		for _, k := range ks {
			req.Keys = append(req.Keys, api.VaultKeyJSON{Person: k[0], Key: k[1]})
		}
		body, _ := json.Marshal(req)
		code, b := do(t, tn.client(who), http.MethodPut, vurl, body)
		return code, string(b)
	}
	accessSize := func() uint64 {
		var al struct {
			Size uint64 `json:"size"`
		}
		if err := tn.creds["auditor"].Get(ctx, tn.url+"/v1/access-log?limit=1", &al); err != nil {
			t.Fatal(err)
		}
		return al.Size
	}

	// Refused writes store nothing.
	for _, c := range []struct {
		name, who string
		keys      [][2]string
		code      int
		mention   string
	}{
		{"wrong key", "publisher", [][2]string{{path0, b64(keys[1])}}, 422, "keys[0].key"},
		{"short key", "publisher", [][2]string{{path0, "AAAA"}}, 422, "keys[0].key"},
		{"wrong path", "publisher", [][2]string{{path0, b64(keys[0])}, {"subject.responsible_persons[7].person", b64(keys[0])}}, 422, "keys[1].person"},
		{"duplicate path", "publisher", [][2]string{{path0, b64(keys[0])}, {path0, b64(keys[0])}}, 422, "keys[1].person"},
		{"other agency", "other", [][2]string{{path0, b64(keys[0])}}, 403, ""},
		{"admin", "admin", [][2]string{{path0, b64(keys[0])}}, 403, ""},
		{"auditor", "auditor", [][2]string{{path0, b64(keys[0])}}, 403, ""},
		{"public", "public", [][2]string{{path0, b64(keys[0])}}, 401, ""},
	} {
		code, body := put(c.who, c.keys...)
		if code != c.code || !strings.Contains(body, c.mention) {
			t.Errorf("PUT %s: %d %s, want %d naming %q", c.name, code, body, c.code, c.mention)
		}
	}
	if code, body := do(t, tn.client("publisher"), http.MethodGet, vurl+"?purpose=approval", nil); code != 404 || !strings.Contains(string(body), "no data key") {
		t.Errorf("GET before any PUT: %d %s, want 404 no data key", code, body)
	}

	// Storing both keys; a retry is idempotent; another key for a stored path is a conflict.
	if code, body := put("publisher", [2]string{path0, b64(keys[0])}, [2]string{path1, b64(keys[1])}); code != 200 || !strings.Contains(body, `"stored": 2`) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := put("publisher", [2]string{path1, b64(keys[1])}); code != 200 || !strings.Contains(body, `"stored": 0`) {
		t.Errorf("PUT again: %d %s, want 200 stored 0", code, body)
	}
	var other schemas.DataKey
	rand.Read(other[:])
	// Only the right key opens a sealed person, so through the API another
	// key is refused by the opening check (422) before raft; the FSM's 409
	// for a different wrapped key is covered by TestFSMVault.
	if code, body := put("publisher", [2]string{path0, b64(other)}); code != 422 {
		t.Errorf("PUT other key: %d %s, want 422", code, body)
	}

	checkGet := func(when string) {
		t.Helper()
		for _, who := range []string{"publisher", "admin"} {
			before := accessSize()
			var v api.VaultView
			if err := tn.creds[who].Get(ctx, vurl+"?purpose=approval", &v); err != nil {
				t.Fatalf("%s: GET as %s: %v", when, who, err)
			}
			if len(v.Persons) != 2 || v.Persons[0].ID != schemas.NormalizeCitizenID(ids[0]) || v.Persons[0].Name != names[0] ||
				v.Persons[1].ID != schemas.NormalizeCitizenID(ids[1]) || v.Persons[1].Name != names[1] || v.Persons[0].Path != path0 {
				t.Errorf("%s: GET as %s: %+v", when, who, v)
			}
			if after := accessSize(); after != before+1 {
				t.Errorf("%s: GET as %s: access log %d -> %d, want one entry more", when, who, before, after)
			}
		}
		before := accessSize()
		for who, want := range map[string]int{"auditor": 403, "executor": 403, "other": 403, "public": 401} {
			if code, body := do(t, tn.client(who), http.MethodGet, vurl+"?purpose=audit", nil); code != want {
				t.Errorf("%s: GET as %s: %d %s, want %d", when, who, code, body, want)
			}
		}
		if code, body := do(t, tn.client("publisher"), http.MethodGet, vurl, nil); code != 400 || !strings.Contains(string(body), "purpose") {
			t.Errorf("%s: GET without purpose: %d %s, want 400 naming purpose", when, code, body)
		}
		if after := accessSize(); after != before {
			t.Errorf("%s: refused reads changed the access log %d -> %d", when, before, after)
		}
	}
	checkGet("before restart")

	// The same data directory after a restart still holds the keys.
	cfg.Listen, cfg.RaftListen = n.Addr(), n.RaftAddr()
	stop()
	n, _ = nodetest.Start(t, cfg)
	if n.URL() != tn.url {
		t.Fatalf("restarted at %s, want %s", n.URL(), tn.url)
	}
	checkGet("after restart")

	// Legal erasure: admin only, with a reason; logged; then the plaintext is gone.
	if code, body := do(t, tn.client("publisher"), http.MethodDelete, vurl+"?reason=case-1", nil); code != 403 {
		t.Errorf("DELETE as publisher: %d %s, want 403", code, body)
	}
	if code, body := do(t, tn.client("admin"), http.MethodDelete, vurl, nil); code != 400 || !strings.Contains(string(body), "reason") {
		t.Errorf("DELETE without reason: %d %s, want 400 naming reason", code, body)
	}
	// Reasons are a catalogue code plus free text without personal data
	// (issue 14 item 3): the access log is append-only.
	before := accessSize()
	for _, bad := range []string{"case-1", "court_order:+" + ids[0], "court_order:+call+13912345678", "PIPL-47+" + url.QueryEscape(names[0])} {
		if code, body := do(t, tn.client("admin"), http.MethodDelete, vurl+"?reason="+bad, nil); code != 400 || !strings.Contains(string(body), `"field": "reason"`) || strings.Contains(string(body), ids[0]) {
			t.Errorf("DELETE with reason %q: %d %s, want 400 naming field reason", bad, code, body)
		}
	}
	if after := accessSize(); after != before {
		t.Errorf("refused erasures changed the access log %d -> %d", before, after)
	}
	var er api.VaultEraseResponse
	if err := tn.creds["admin"].Delete(ctx, vurl+"?reason=subject_request:+PIPL-47+case+2026-001", &er); err != nil || er.Destroyed != 2 {
		t.Fatalf("DELETE as admin: %+v, %v; want 2 keys destroyed", er, err)
	}
	if after := accessSize(); after != before+1 {
		t.Errorf("erasure: access log %d -> %d, want one entry more", before, after)
	}
	if err := tn.creds["admin"].Delete(ctx, vurl+"?reason=subject_request", &er); err != nil || er.Destroyed != 0 {
		t.Errorf("DELETE again: %+v, %v; want 200 with 0 destroyed", er, err)
	}
	for _, who := range []string{"publisher", "admin"} {
		if code, body := do(t, tn.client(who), http.MethodGet, vurl+"?purpose=approval", nil); code != 404 || !strings.Contains(string(body), "erased") {
			t.Errorf("GET after erasure as %s: %d %s, want 404 erased", who, code, body)
		}
	}
	if code, body := put("publisher", [2]string{path0, b64(keys[0])}); code != http.StatusGone {
		t.Errorf("PUT after erasure: %d %s, want 410", code, body)
	}
	// The ledger still verifies: nothing in it changed (the listing is still there).
	if code, _ := do(t, tn.client("auditor"), http.MethodGet, fmt.Sprintf("%s/v1/records/330000/%d?purpose=audit", tn.url, rs[0].Index), nil); code != 200 {
		t.Errorf("the erased record's ledger entry is no longer served: %d", code)
	}
}

// TestVaultDisabled: a data directory without keys/vault.key starts, and the
// vault's read and write endpoints say why they cannot serve.
func TestVaultDisabled(t *testing.T) {
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "v-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "keys", "vault.key")); err != nil {
		t.Fatal(err)
	}
	n, _ := nodetest.Start(t, *cfgs[0])
	pub, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	if pub.MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{creds: map[string]*client.Credentials{"publisher": pub}}
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		code, body := do(t, tn.client("publisher"), m, n.URL()+"/v1/vault/330000/0?purpose=approval", []byte(`{"keys":[]}`))
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "vault.key") {
			t.Errorf("%s with the vault disabled: %d %s, want 503 naming vault.key", m, code, body)
		}
	}
}
