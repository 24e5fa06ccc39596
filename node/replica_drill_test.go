package node_test

import (
	"bytes"
	"context"
	"encoding/base64"
	ubinary "encoding/binary"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// appendCommand is a raft command of op 1 (append) in the format of
// node/command.go, written here byte by byte as an attacker would.
func appendCommand(origin string, entries ...[]byte) []byte {
	b := []byte{1, 1}
	b = ubinary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = ubinary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = ubinary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

// TestDrillStolenReplicaCertificate: with a replica's certificate alone,
// an attacker posts commands straight to the leader's /internal/v1/apply of
// a real 3-replica region. Garbage bytes, a listing with a fake signature
// under a real key id, a forged access-log entry, an append to another
// member's ledger origin and an exchange op are all refused, nothing is
// written on any replica, and the access log still reads back as JSON;
// a genuine record forwarded by a follower still goes through (issue 11
// item 4).
func TestDrillStolenReplicaCertificate(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.registerPublisher(t)
	ctx := context.Background()
	pub := c.creds["publisher"]
	stolen, err := client.LoadCredentials(filepath.Join(c.dir, "zj-2", "tls", "replica"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := synth.Listing(3, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
		MatchKey: *pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	genuine, err := pub.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	// The same listing under the publisher's real key id with a made-up signature.
	s, _ := schemas.ParseSigned(genuine)
	sig := bytes.Clone(s.Sig)
	sig[0] ^= 1
	fake := []byte(`{"key":"` + s.KeyID + `","record":` + string(s.Record) + `,"sig":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
	if fs, err := schemas.ParseSigned(fake); err != nil || fs.KeyID != s.KeyID {
		t.Fatalf("building the fake-signature entry: %v", err)
	}
	access, _ := json.Marshal(node.AccessRecord{At: "not a time", Who: "nobody"})

	c.waitSettled(30 * time.Second)
	leader := c.waitLeader(10 * time.Second)
	st0, _ := c.status(leader)
	attacks := []struct {
		name string
		cmd  []byte
	}{
		{"garbage entry", appendCommand("creditx.330000/ledger", []byte("\x00garbage\xff"))},
		{"fake signature under a real key id", appendCommand("creditx.330000/ledger", fake)},
		{"forged access-log entry (not JSON)", appendCommand("creditx.330000/access", []byte("{not json"))},
		{"forged access-log entry (malformed record)", appendCommand("creditx.330000/access", access)},
		{"append to another member's ledger", appendCommand("creditx.310000/ledger", genuine)},
		{"exchange op 5 (alert)", append(ubinary.AppendUvarint(append([]byte{2, 5, 21}, "creditx.310000/ledger"...), 1), 'x')},
	}
	for _, a := range attacks {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, leader.url+"/internal/v1/apply", bytes.NewReader(a.cmd))
		resp, err := stolen.Client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		var body struct {
			Error  string            `json:"error"`
			Errors []node.FieldError `json:"errors"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || body.Error == "" {
			t.Errorf("%s: answered %d %q, want a 4xx with the reason", a.name, resp.StatusCode, body.Error)
		} else {
			t.Logf("%s: %d %s %+v", a.name, resp.StatusCode, body.Error, body.Errors)
		}
	}
	c.waitSettled(30 * time.Second)
	for _, p := range c.procs {
		if st, err := c.status(p); err != nil || st.Size != st0.Size {
			t.Errorf("replica %s: size %d after the attacks, want %d (%v)", p.id, st.Size, st0.Size, err)
		}
	}
	var al struct {
		Size    uint64            `json:"size"`
		Entries []json.RawMessage `json:"entries"`
	}
	if err := c.creds["auditor"].Get(ctx, leader.url+"/v1/access-log", &al); err != nil {
		t.Fatalf("access log after the attacks: %v", err)
	}
	for _, e := range al.Entries {
		if strings.Contains(string(e), "nobody") {
			t.Errorf("forged access record stored: %s", e)
		}
	}
	// A client's genuine record through a follower still goes through.
	var follower string
	for _, p := range c.procs {
		if p != leader {
			follower = p.url
		}
	}
	if _, err := pub.Submit(ctx, follower, genuine); err != nil {
		t.Fatalf("genuine listing through a follower: %v", err)
	}
}

// followCommand is a raft command of op 10 (follow) with one item and no
// proof, in the format of node/command.go, written byte by byte.
func followCommand(origin string, oldSize uint64, checkpoint []byte) []byte {
	b := []byte{6, 10}
	b = ubinary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = ubinary.AppendUvarint(b, oldSize)
	b = ubinary.AppendUvarint(b, 0) // proof hashes
	b = ubinary.AppendUvarint(b, uint64(len(checkpoint)))
	b = append(b, checkpoint...)
	return ubinary.AppendUvarint(b, 0) // further items
}

// TestForwardedFollowRefused: op 10 (a followed loop checkpoint) is
// proposed by the leader's exchange runtime itself; a replica's forward of
// one to the leader's /internal/v1/apply, well formed, is refused with
// 403 and the reason (admission.Forwarded), and nothing is written.
func TestForwardedFollowRefused(t *testing.T) {
	tn := startNode(t)
	size := tn.settledSize(t)
	cmd := followCommand("creditx.310000/loop", 0, []byte("creditx.310000/loop\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	code, b := do(t, tn.creds["replica"].Client, http.MethodPost, tn.url+"/internal/v1/apply", cmd)
	var body struct {
		Error string `json:"error"`
	}
	json.Unmarshal(b, &body)
	if code != http.StatusForbidden || !strings.Contains(body.Error, "op 10 is not forwarded by replicas") {
		t.Errorf("forwarded op 10: %d %q, want 403 saying op 10 is not forwarded by replicas", code, b)
	}
	// The same bytes cut short are not a command at all: 400, not 403, so
	// the 403 above is the refusal of a decoded op 10.
	if code, b := do(t, tn.creds["replica"].Client, http.MethodPost, tn.url+"/internal/v1/apply", cmd[:len(cmd)-1]); code != http.StatusBadRequest {
		t.Errorf("truncated op 10: %d %.200s, want 400", code, b)
	}
	if got := tn.settledSize(t); got != size {
		t.Errorf("ledger size %d after the refused follow, want %d", got, size)
	}
}
