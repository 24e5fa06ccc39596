package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// doH is do with the answer's headers.
func doH(t *testing.T, c *http.Client, method, u string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// capDay is the day (UTC+8) the lookup cap counts now.
func capDay() string { return time.Now().In(time.FixedZone("", 8*3600)).Format(time.DateOnly) }

// checkCapAnswer asserts that a 429 of the lookup cap names the cap and its
// reset time and carries a Retry-After that reaches that time.
func checkCapAnswer(t *testing.T, what string, code int, h http.Header, b []byte) {
	t.Helper()
	if code != 429 {
		t.Fatalf("%s: %d %.300s, want 429 of the daily lookup cap", what, code, b)
	}
	day, _ := time.ParseInLocation(time.DateOnly, capDay(), time.FixedZone("", 8*3600))
	reset := day.AddDate(0, 0, 1).UTC().Format(time.RFC3339)
	if !strings.Contains(string(b), "daily lookup cap") || !strings.Contains(string(b), fmt.Sprint(node.DailyLookupCap)) || !strings.Contains(string(b), reset) {
		t.Errorf("%s: the 429 does not name the cap %d and its reset %s: %.400s", what, node.DailyLookupCap, reset, b)
	}
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if until := time.Until(day.AddDate(0, 0, 1)).Seconds(); err != nil || secs < 1 || float64(secs) < until-5 || float64(secs) > until+5 {
		t.Errorf("%s: Retry-After %q, want the ~%.0f s until the reset", what, h.Get("Retry-After"), until)
	}
}

// TestLookupCapPersistsAndIsPurposeBound: an identity has at most
// DailyLookupCap plaintext citizen IDs hashed a day across GET and POST
// /v1/check, GET /v1/subjects and POST /v1/persons/hash; a lookup without a
// purpose is refused and charges nothing; changing the purpose buys no more;
// lookups by keyed hash and USCC are not charged; another identity has its
// own cap; and the count survives a restart of the replica (it is in
// ledger.db, applied with the access-log entry).
func TestLookupCapPersistsAndIsPurposeBound(t *testing.T) {
	day := capDay()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "c-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	n, stop := nodetest.Start(t, cfg)
	ctx := context.Background()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	creds := map[string]*client.Credentials{}
	for _, name := range []string{"executor", "auditor", "publisher"} {
		if creds[name], err = client.LoadCredentials(filepath.Join(dir, "agencies", name)); err != nil {
			t.Fatal(err)
		}
	}
	exe := creds["executor"].Client
	ids := make([]string, node.DailyLookupCap-2)
	for i := range ids {
		ids[i] = synth.PersonID("330000", uint64(20000+i))
	}
	body, _ := json.Marshal(node.BatchCheckRequest{Subjects: ids, Purpose: "approval"})
	if code, b := do(t, exe, "POST", n.URL()+"/v1/check", body); code != 200 {
		t.Fatalf("batch of %d IDs: %d %.300s", len(ids), code, b)
	}
	one := synth.PersonID("330000", 31337)
	// No purpose: refused, nothing charged.
	if code, b := do(t, exe, "GET", n.URL()+"/v1/check?subject="+one, nil); code != 400 || !strings.Contains(string(b), "purpose") {
		t.Fatalf("lookup without a purpose: %d %.200s, want 400 naming the purpose", code, b)
	}
	if code, b := do(t, exe, "GET", n.URL()+"/v1/subjects/"+one, nil); code != 400 {
		t.Fatalf("subject lookup without a purpose: %d %.200s, want 400", code, b)
	}
	// The last two lookups of the day, by two routes and purposes.
	if code, b := do(t, exe, "GET", n.URL()+"/v1/check?purpose=supervision&subject="+one, nil); code != 200 {
		t.Fatalf("lookup 999: %d %.200s (a refused lookup was charged?)", code, b)
	}
	if code, b := do(t, exe, "GET", n.URL()+"/v1/subjects/"+one+"?purpose=enforcement", nil); code != 200 {
		t.Fatalf("lookup 1000: %d %.200s", code, b)
	}
	// Spent, whatever the purpose and route.
	code, h, b := doH(t, exe, "GET", n.URL()+"/v1/check?purpose=objection&subject="+one, nil)
	checkCapAnswer(t, "lookup 1001 (GET /v1/check, another purpose)", code, h, b)
	code, h, b = doH(t, exe, "GET", n.URL()+"/v1/subjects/"+one+"?purpose=judicial", nil)
	checkCapAnswer(t, "lookup 1001 (GET /v1/subjects)", code, h, b)
	// Not charged: a keyed hash and a USCC (they test no guess).
	mk, err := provision.DevMatchKey(filepath.Join(dir, "agencies"))
	if err != nil {
		t.Fatal(err)
	}
	if code, b := do(t, exe, "GET", n.URL()+"/v1/check?purpose=approval&subject="+mk.HashID(one), nil); code != 200 {
		t.Errorf("lookup by keyed hash after the cap: %d %.200s, want 200 (not charged)", code, b)
	}
	if code, b := do(t, exe, "GET", n.URL()+"/v1/check?subject="+synth.EnterpriseUSCC("330000", 5), nil); code != 200 {
		t.Errorf("lookup of a USCC after the cap: %d %.200s, want 200", code, b)
	}
	// Another identity has its own cap.
	if code, b := do(t, creds["auditor"].Client, "GET", n.URL()+"/v1/check?purpose=audit&subject="+one, nil); code != 200 {
		t.Errorf("auditor's first lookup: %d %.200s", code, b)
	}
	// The access log carries the charges: 1000 for the executor, with the
	// purposes given.
	var al struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := creds["auditor"].Get(ctx, n.URL()+"/v1/access-log?limit=1000", &al); err != nil {
		t.Fatal(err)
	}
	charged, purposes := 0, map[string]bool{}
	for _, e := range al.Entries {
		var r node.AccessRecord
		json.Unmarshal(e, &r)
		if r.Lookup != nil && r.Who == creds["executor"].Identity.ID && r.Role == "execute" {
			charged += r.Lookup.N
			purposes[r.Purpose] = true
			if r.Lookup.Cap != node.DailyLookupCap || r.Lookup.Day != day {
				t.Errorf("charge %+v: want cap %d on %s", r.Lookup, node.DailyLookupCap, day)
			}
		}
	}
	if charged != node.DailyLookupCap || !purposes["approval"] || !purposes["supervision"] || !purposes["enforcement"] {
		t.Errorf("access log charges the executor %d lookups with purposes %v, want %d with approval, supervision, enforcement", charged, purposes, node.DailyLookupCap)
	}

	// Restart: the count is in ledger.db.
	cfg.Listen, cfg.RaftListen = n.Addr(), n.RaftAddr()
	stop()
	n, _ = nodetest.Start(t, cfg)
	code, h, b = doH(t, exe, "GET", n.URL()+"/v1/check?purpose=approval&subject="+one, nil)
	if capDay() != day {
		t.Skip("the cap's day (UTC+8) changed during the test")
	}
	checkCapAnswer(t, "after a restart", code, h, b)
	pb, _ := json.Marshal(node.PersonsHashRequest{IDs: []string{one}, Purpose: "listing"})
	if code, b := do(t, creds["publisher"].Client, "POST", n.URL()+"/v1/persons/hash", pb); code != 200 {
		t.Errorf("publisher hashing one ID after the restart: %d %.200s (its own cap)", code, b)
	}
}

// candidates lists, in order, the citizen IDs an attacker who knows the
// person's county (address code) and birth year, and the check character the
// masked form shows, must try: about 365 x 1000 / 11 = 33,000.
func candidates(address string, year int, check byte) []string {
	var out []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		for seq := range 1000 {
			id, err := schemas.CompleteCitizenID(fmt.Sprintf("%s%s%03d", address, d.Format("20060102"), seq))
			if err == nil && id[17] == check {
				out = append(out, id)
			}
		}
	}
	return out
}

// TestIDRecoveryOnlinePerRole: the online form of the attack. The
// attacker holds a person's keyed hash and masked ID (entry bundles) and
// knows the county and birth year, which leaves ~33,000 candidates; the
// person is candidate 29,885. Each role asks the node about candidates in
// order, 1,000 per request, by the routes it may use (publisher: POST
// /v1/persons/hash, comparing hashes; executor, auditor, admin: POST
// /v1/check, looking for a listing, then GET /v1/check and /v1/subjects).
// Every role gets exactly DailyLookupCap answers and then 429s, so the
// person is not found today. Sanity: a lookup of the person by keyed hash
// (not charged) does find the listing, so a hit would have been seen.
func TestIDRecoveryOnlinePerRole(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	const address, year, at = "330106", 1985, 29885
	cands := candidates(address, year, '7')
	if len(cands) < 30000 || len(cands) > 36000 {
		t.Fatalf("%d candidates, want ~33,000", len(cands))
	}
	id := cands[at-1]
	var person schemas.Person
	e := tn.listing(t, 49, func(l *schemas.Listing) {
		p, _, err := schemas.SealPerson(*tn.creds["publisher"].MatchKey, id, "周五郎", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		person = p
		l.Subject = schemas.Subject{Type: schemas.SubjectNaturalPerson, Name: p.NameMasked, Person: &p}
	})
	if _, err := tn.creds["publisher"].Submit(ctx, tn.url, e); err != nil {
		t.Fatal(err)
	}
	var sanity node.CheckAnswer
	if err := tn.creds["executor"].Get(ctx, tn.url+"/v1/check?purpose=audit&subject="+url.QueryEscape(person.IDHash), &sanity); err != nil || len(sanity.Listings) == 0 {
		t.Fatalf("sanity: a lookup by the person's keyed hash finds no listing (%v): a hit could not be seen", err)
	}
	day := capDay()
	for _, role := range []string{"publisher", "executor", "auditor", "admin"} {
		c := tn.creds[role].Client
		answered, found, refused := 0, false, 0
		for start := 0; start < len(cands) && !found; start += 1000 {
			batch := cands[start:min(start+1000, len(cands))]
			var code int
			var h http.Header
			var b []byte
			if role == "publisher" {
				body, _ := json.Marshal(node.PersonsHashRequest{IDs: batch, Purpose: "listing"})
				code, h, b = doH(t, c, "POST", tn.url+"/v1/persons/hash", body)
				if code == 200 {
					var resp node.PersonsHashResponse
					json.Unmarshal(b, &resp)
					answered += len(resp.Hashes)
					for _, x := range resp.Hashes {
						found = found || x == person.IDHash
					}
					continue
				}
			} else {
				body, _ := json.Marshal(node.BatchCheckRequest{Subjects: batch, Purpose: "supervision"})
				code, h, b = doH(t, c, "POST", tn.url+"/v1/check", body)
				if code == 200 {
					var resp []node.CheckAnswer
					json.Unmarshal(b, &resp)
					answered += len(resp)
					for _, a := range resp {
						found = found || len(a.Listings) > 0
					}
					continue
				}
			}
			if refused++; refused == 1 {
				checkCapAnswer(t, role+" batch at candidate "+fmt.Sprint(start), code, h, b)
			} else if code != 429 {
				t.Errorf("%s batch at candidate %d: %d, want 429", role, start, code)
			}
		}
		if role != "publisher" {
			// The single-subject routes with the person's own ID: refused too.
			code, h, b := doH(t, c, "GET", tn.url+"/v1/check?purpose=supervision&subject="+id, nil)
			checkCapAnswer(t, role+" GET /v1/check of the person", code, h, b)
			code, h, b = doH(t, c, "GET", tn.url+"/v1/subjects/"+id+"?purpose=supervision", nil)
			checkCapAnswer(t, role+" GET /v1/subjects of the person", code, h, b)
		}
		if capDay() != day {
			t.Skip("the cap's day (UTC+8) changed during the test")
		}
		if found || answered != node.DailyLookupCap {
			t.Errorf("%s: found %v after %d answers, want not found after exactly %d", role, found, answered, node.DailyLookupCap)
		}
		t.Logf("%s: %d of %d candidates answered, %d requests refused, person (candidate %d) not found", role, answered, len(cands), refused, at)
	}
}
