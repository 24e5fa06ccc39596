package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	binenc "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

const rpPath = "subject.responsible_persons[0].person"

// storeSealed submits a listing naming a sealed responsible person through
// url and stores its data key in the vault; it returns the record's index.
func storeSealed(t *testing.T, pub *client.Credentials, mk schemas.MatchKey, url string, i uint64) (uint64, schemas.DataKey) {
	t.Helper()
	ctx := context.Background()
	var dk schemas.DataKey
	l, err := synth.Listing(i, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
		MatchKey: mk, Rand: rand.Reader, Now: time.Now().UTC().Add(-time.Hour), DataKeys: func(_ string, k schemas.DataKey) { dk = k }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := pub.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pub.Submit(ctx, url, e)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"keys":[{"person":%q,"key":%q}]}`, rpPath, base64.StdEncoding.EncodeToString(dk[:]))
	if err := pub.Put(ctx, fmt.Sprintf("%s/v1/vault/330000/%d", url, rs[0].Index), []byte(body), &map[string]any{}); err != nil {
		t.Fatal(err)
	}
	return rs[0].Index, dk
}

// opensAt finds, in raw file bytes, every 64-byte wrapped key of epoch
// (uint32 BE epoch || 60-byte wrapping) that key (hex) opens for the record
// at index; it returns how many it found.
func opensAt(b []byte, epoch uint32, keyHex string, index uint64) int {
	prefix := binenc.BigEndian.AppendUint32(nil, epoch)
	n := 0
	for off := 0; off+64 <= len(b); {
		i := bytes.Index(b[off:], prefix)
		if i < 0 || off+i+64 > len(b) {
			break
		}
		if node.OpensForTest(keyHex, "creditx.330000/ledger", index, rpPath, b[off+i+4:off+i+64]) {
			n++
		}
		off += i + 1
	}
	return n
}

// TestVaultRotateLeavesNoOldKey: three replicas as real processes hold two
// records' data keys; the credit office rotates the vault key through a
// follower. Every replica's key file moves to epoch 1 with the ratcheted
// key; then every file of every replica is read: the old key appears
// nowhere (hex, raw, base64), the re-wrapped keys in ledger.db open under
// the new key and none under the old one (so a copy of the old key file is
// useless against them), and both records still open on every replica.
// The daily lookup count is replicated too: spent through the leader, it is
// refused by a follower.
func TestVaultRotateLeavesNoOldKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three replica processes")
	}
	c := startCluster(t, 3, nil)
	c.registerPublisher(t)
	ctx := context.Background()
	pub, admin := c.creds["publisher"], c.creds["admin"]
	leader := c.waitLeader(15 * time.Second)
	var follower *proc
	for _, p := range c.procs {
		if p != leader {
			follower = p
			break
		}
	}
	var idx []uint64
	for i := range 2 {
		x, _ := storeSealed(t, pub, *pub.MatchKey, leader.url, uint64(80+i))
		idx = append(idx, x)
	}
	keyFile := func(p *proc) string { return filepath.Join(filepath.Dir(p.cfgPath), "keys", "vault.key") }
	k0b, err := os.ReadFile(keyFile(leader))
	if err != nil {
		t.Fatal(err)
	}
	k0 := strings.Fields(string(k0b))[0]
	k1 := node.NextVaultKeyForTest(k0)

	var r api.VaultRotateResponse
	if err := admin.Post(ctx, follower.url+"/v1/vault/rotate", nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.From != 0 || r.Epoch != 1 || r.Rewrapped != 2 {
		t.Errorf("rotation answered %+v, want from 0 to 1, 2 keys re-wrapped", r)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range c.procs {
		for {
			b, _ := os.ReadFile(keyFile(p))
			if f := strings.Fields(string(b)); len(f) == 2 && f[1] == "1" {
				if f[0] != k1 {
					t.Errorf("%s: key file at epoch 1 holds %s..., not the ratcheted key", p.id, f[0][:8])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: vault key not rotated: %q", p.id, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Both records open on every replica, under the new key.
	for _, p := range c.procs {
		for _, x := range idx {
			var v api.VaultView
			if err := pub.Get(ctx, fmt.Sprintf("%s/v1/vault/330000/%d?purpose=approval", p.url, x), &v); err != nil || len(v.Persons) != 1 {
				t.Errorf("%s: record %d after the rotation: %+v, %v", p.id, x, v.Persons, err)
			}
		}
	}

	k0raw, _ := hex.DecodeString(k0)
	needles := map[string][]byte{
		"hex": []byte(k0), "HEX": []byte(strings.ToUpper(k0)), "raw": k0raw,
		"base64": []byte(base64.StdEncoding.EncodeToString(k0raw)), "base64url": []byte(base64.RawURLEncoding.EncodeToString(k0raw)),
	}
	files := 0
	err = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(c.dir, p)
		for form, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("%s holds the old vault key (%s) after the rotation", rel, form)
			}
		}
		if filepath.Base(p) == "ledger.db" {
			for _, x := range idx {
				if n := opensAt(b, 1, k1, x); n == 0 {
					t.Errorf("%s: no wrapped key of record %d at epoch 1 opens under the new key: the check below proves nothing", rel, x)
				}
				if n := opensAt(b, 1, k0, x); n != 0 {
					t.Errorf("%s: %d wrapped keys of record %d open under the old key", rel, n, x)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files read; the old vault key is in none", files)

	// The lookup cap's count is replicated: spent at the leader, refused at a follower.
	ids := make([]string, node.DailyLookupCap)
	for i := range ids {
		ids[i] = synth.PersonID("330000", uint64(40000+i))
	}
	body, _ := json.Marshal(node.BatchCheckRequest{Subjects: ids, Purpose: "approval"})
	exe := c.creds["executor"].Client
	if code, b := do(t, exe, "POST", leader.url+"/v1/check", body); code != 200 {
		t.Fatalf("batch at the leader: %d %.200s", code, b)
	}
	day := capDay()
	for {
		code, h, b := doH(t, exe, "GET", follower.url+"/v1/check?purpose=approval&subject="+ids[0], nil)
		if code == 429 || time.Now().After(deadline.Add(15*time.Second)) {
			if capDay() == day {
				checkCapAnswer(t, "a lookup at a follower after the cap was spent at the leader", code, h, b)
			}
			break
		}
		time.Sleep(50 * time.Millisecond) // the follower has not applied the charge yet
	}
}

// TestVaultRotateCrashAfterCommit: a replica that died after a rotation's
// commit and before replacing keys/vault.key (simulated by putting the old
// key file back) ratchets the file forward when it starts, before serving;
// the stored key still opens, and rotating again moves on from there. A
// retried command (the same epoch) changes nothing.
func TestVaultRotateCrashAfterCommit(t *testing.T) {
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "r-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	keyPath := filepath.Join(dir, "keys", "vault.key")
	k0, _ := os.ReadFile(keyPath)
	n, stop := nodetest.Start(t, cfg)
	ctx := context.Background()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	pub, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.LoadCredentials(filepath.Join(dir, "agencies", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := provision.DevMatchKey(filepath.Join(dir, "agencies"))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := storeSealed(t, pub, *mk, n.URL(), 90)
	if err := pub.Post(ctx, n.URL()+"/v1/vault/rotate", nil, &map[string]any{}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("rotation by the publisher: %v, want 403", err)
	}
	var r api.VaultRotateResponse
	if err := admin.Post(ctx, n.URL()+"/v1/vault/rotate", nil, &r); err != nil || r.Epoch != 1 || r.Rewrapped != 1 {
		t.Fatalf("rotation: %+v, %v", r, err)
	}
	k1, _ := os.ReadFile(keyPath)
	if f := strings.Fields(string(k1)); len(f) != 2 || f[1] != "1" || f[0] != node.NextVaultKeyForTest(string(k0)) {
		t.Fatalf("after the rotation keys/vault.key is %q, want the ratcheted key at epoch 1", k1)
	}
	if err := node.ApplyVaultRotateForTest(n, 0); err != nil {
		t.Fatalf("a retried rotation from epoch 0: %v", err)
	}
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, k1) {
		t.Fatalf("a retried rotation from epoch 0 moved the key again: %q", got)
	}
	cfg.Listen, cfg.RaftListen = n.Addr(), n.RaftAddr()
	stop()
	if err := os.WriteFile(keyPath, k0, 0o600); err != nil { // the crash: the old key is back
		t.Fatal(err)
	}
	n, _ = nodetest.Start(t, cfg)
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, k1) {
		t.Fatalf("after restart keys/vault.key is %q, want the rotated %q", got, k1)
	}
	var v api.VaultView
	if err := pub.Get(ctx, fmt.Sprintf("%s/v1/vault/330000/%d?purpose=approval", n.URL(), x), &v); err != nil || len(v.Persons) != 1 {
		t.Errorf("record after restart: %+v, %v", v, err)
	}
	if err := admin.Post(ctx, n.URL()+"/v1/vault/rotate", nil, &r); err != nil || r.From != 1 || r.Epoch != 2 {
		t.Errorf("second rotation: %+v, %v; want from 1 to 2", r, err)
	}
	if err := pub.Get(ctx, fmt.Sprintf("%s/v1/vault/330000/%d?purpose=approval", n.URL(), x), &v); err != nil || len(v.Persons) != 1 {
		t.Errorf("record after the second rotation: %+v, %v", v, err)
	}
}
