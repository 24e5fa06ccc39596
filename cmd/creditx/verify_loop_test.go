package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// loopNode is a stopped region node's data directory whose node ran
// sanctions.loop_log, with what the tests need to write into it.
type loopNode struct {
	dir      string // the replica's data directory
	cfg      *node.Config
	agencies string
	pub, exe *client.Credentials
	loopSize uint64 // entries of the loop log when the node stopped
	fb       *schemas.Feedback
}

// stoppedLoopNodeDir runs a region node with sanctions.loop_log on, submits
// a listing (its notices go to the loop log) and feedback on one notice
// (to the loop log too), stops the node and returns its data directory.
func stoppedLoopNodeDir(t *testing.T) *loopNode {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgs[0]
	cfg.Sanctions.LoopLog = true
	if err := node.WriteConfig(filepath.Join(cfg.DataDir, "node.yaml"), cfg); err != nil {
		t.Fatal(err)
	}
	n, stop := nodetest.Start(t, *cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	ln := &loopNode{dir: cfg.DataDir, cfg: cfg, agencies: filepath.Join(dir, "agencies")}
	if ln.pub, err = client.LoadCredentials(filepath.Join(dir, "agencies", "publisher")); err != nil {
		t.Fatal(err)
	}
	if ln.exe, err = client.LoadCredentials(filepath.Join(dir, "agencies", "executor")); err != nil {
		t.Fatal(err)
	}
	if ln.pub.MatchKey, err = provision.DevMatchKey(ln.agencies); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.pub.Submit(ctx, n.URL(), ln.listing(t, 0)); err != nil {
		t.Fatal(err)
	}
	var page node.NoticesPage
	if err := ln.exe.Get(ctx, n.URL()+"/v1/notices?state=pending&wait=10s", &page); err != nil {
		t.Fatal(err)
	}
	loop := schemas.LoopOrigin("330000")
	if len(page.Notices) == 0 || page.Notices[0].Origin != loop {
		t.Fatalf("notices %+v, want some in %s", page.Notices, loop)
	}
	nv := page.Notices[0]
	ln.fb = ln.feedback(schemas.Ref{Origin: nv.Origin, Index: nv.Index, Hash: nv.LeafHash}, time.Now())
	e, err := ln.exe.Sign(ln.fb)
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := ln.exe.Submit(ctx, n.URL(), e); err != nil || rs[0].Origin != loop {
		t.Fatalf("feedback: %v %+v, want written to %s", err, rs, loop)
	}
	time.Sleep(500 * time.Millisecond) // let notice issuing settle
	stop()
	s, err := ledger.Open(filepath.Join(ln.dir, "ledger.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ln.loopSize, err = s.Log(loop).Size(); err != nil || ln.loopSize < 2 {
		t.Fatalf("loop log size %d (%v), want a notice and feedback", ln.loopSize, err)
	}
	return ln
}

func (ln *loopNode) listing(t *testing.T, i uint64) []byte {
	t.Helper()
	l, err := synth.Listing(i, synth.Options{Region: "330000", Authority: schemas.Agency{Name: ln.pub.Identity.Name, USCC: ln.pub.Identity.ID},
		MatchKey: *ln.pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ln.pub.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (ln *loopNode) feedback(notice schemas.Ref, at time.Time) *schemas.Feedback {
	return &schemas.Feedback{Header: schemas.Header{Region: "330000", Submitter: ln.exe.Identity.ID, CreatedAt: schemas.NewTime(at)},
		Notice: notice, Agency: schemas.Agency{Name: ln.exe.Identity.Name, USCC: ln.exe.Identity.ID},
		Outcome: "applied", CaseRef: "ZJ-LOOP-V", ActedAt: schemas.NewTime(at)}
}

// appendTo appends entries to origin in the stopped node's ledger.db, signing
// a checkpoint with the node's key file (log.key, loop.key).
func (ln *loopNode) appendTo(t *testing.T, origin, keyFile string, entries ...[]byte) {
	t.Helper()
	sk, err := os.ReadFile(filepath.Join(ln.dir, "keys", keyFile+".key"))
	if err != nil {
		t.Fatal(err)
	}
	vk, err := os.ReadFile(filepath.Join(ln.dir, "keys", keyFile+".vkey"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(sk)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vk)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(filepath.Join(ln.dir, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := appendSigned(s, origin, signer, v, entries); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyLoopLog: a real node's data directory with sanctions.loop_log
// verifies, loop log included (its key from keys/loop.vkey, its entries
// against the ledger's keyring, the time rule named as not checked); a
// tampered loop entry, a listing in the loop log, a loop entry signed by
// an unregistered key and one signed by a key the ledger revoked before
// the entry was created each fail, naming the loop origin and the entry.
func TestVerifyLoopLog(t *testing.T) {
	ln := stoppedLoopNodeDir(t)
	loop := schemas.LoopOrigin("330000")
	out, err := run(t, "verify", "--data", ln.dir)
	if err != nil || !strings.Contains(out, "creditx.330000/ledger: OK") ||
		!strings.Contains(out, loop+": OK, "+strconv.FormatUint(ln.loopSize, 10)+" entries verified") ||
		!strings.Contains(out, "sanction notices and feedback only, schemas, record signatures by keys of creditx.330000/ledger's keyring") ||
		!strings.Contains(out, loop+": not checked: whether each entry's key was in force when it was appended") ||
		strings.Contains(out, "NOT VERIFIED") {
		t.Fatalf("untouched loop node: %v\n%s", err, out)
	}
	restore := keepLedgerDB(t, ln.dir)
	next := strconv.FormatUint(ln.loopSize, 10) // index of an appended loop entry
	// The loop log's own failures must not come from the ledger.
	ledgerOK := func(t *testing.T, out string) {
		t.Helper()
		if !strings.Contains(out, "creditx.330000/ledger: OK") {
			t.Fatalf("the ledger should still verify:\n%s", out)
		}
	}

	t.Run("tampered entry", func(t *testing.T) {
		defer restore()
		flipEntry(t, ln.dir, loop, 0)
		ledgerOK(t, verifyFails(t, ln.dir, loop+": FAILED at entry 0"))
	})
	t.Run("listing in the loop log", func(t *testing.T) {
		defer restore()
		ln.appendTo(t, loop, "loop", ln.listing(t, 1))
		ledgerOK(t, verifyFails(t, ln.dir, loop+": FAILED at entry "+next+": ", "is not written to the loop log, only sanction notices and feedback"))
	})
	t.Run("unregistered key", func(t *testing.T) {
		defer restore()
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		e, err := schemas.Sign(ln.feedback(ln.fb.Notice, time.Now()), stranger)
		if err != nil {
			t.Fatal(err)
		}
		ln.appendTo(t, loop, "loop", e)
		ledgerOK(t, verifyFails(t, ln.dir, loop+": FAILED at entry "+next+": ",
			"signing key "+schemas.KeyID(stranger.Public().(ed25519.PublicKey))+": not in the keyring of creditx.330000/ledger", "unknown agency key"))
	})
	t.Run("key revoked before the entry", func(t *testing.T) {
		defer restore()
		admin, err := client.LoadCredentials(filepath.Join(ln.agencies, "admin"))
		if err != nil {
			t.Fatal(err)
		}
		exeKey := schemas.KeyID(ln.exe.SignKey.Public().(ed25519.PublicKey))
		revokedAt := ln.fb.CreatedAt.Time.Add(-time.Minute) // before the feedback already in the loop log
		g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(revokedAt)},
			Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: exeKey, Reason: "test: key lost"}}
		e, err := admin.Sign(g)
		if err != nil {
			t.Fatal(err)
		}
		ln.appendTo(t, schemas.LedgerOrigin("330000"), "log", e)
		out := verifyFails(t, ln.dir, loop+": FAILED at entry ", "signing key "+exeKey+" revoked by creditx.330000/ledger entry", "revoked agency key")
		ledgerOK(t, out)
	})
	// Another member's loop log (a custodian copy) without its ledger in
	// DIR: its tree and kinds are checked, its signatures cannot be, and it
	// says so; without a trusted key it is not verified at all.
	t.Run("loop log without its ledger", func(t *testing.T) {
		defer restore()
		other := schemas.LoopOrigin("320000")
		skey, vkey, err := ledger.GenerateKey(other, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := note.NewSigner(skey)
		v, _ := note.NewVerifier(vkey)
		s, err := ledger.Open(filepath.Join(ln.dir, "ledger.db"), ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var entries [][]byte
		for i := range ln.loopSize {
			e, err := s.Log(loop).Entry(i)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
		err = appendSigned(s, other, signer, v, entries)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		verifyFails(t, ln.dir, other+": NOT VERIFIED: no trusted key for this origin")
		tf, err := trust.ForDataDir(ln.dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tf.Lookup(loop); !ok {
			t.Fatalf("trust of a node running sanctions.loop_log lacks %s: %+v", loop, tf.Origins)
		}
		tf.Origins = append(tf.Origins, trust.Origin{Origin: other, VKey: vkey})
		if err := tf.Save(filepath.Join(ln.dir, trust.FileName)); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(ln.dir, trust.FileName))
		out := verifyFails(t, ln.dir, other+": NOT VERIFIED: "+next+" entries: tree, checkpoints up to size "+next+", sanction notices and feedback only, schemas OK; record signatures and keys NOT checked: the keyring of its member's ledger creditx.320000/ledger is not known (it is not in this data directory)")
		if !strings.Contains(out, loop+": OK") {
			t.Fatalf("own loop log should still verify:\n%s", out)
		}
	})
	// Turned off later: the loop log it kept still verifies with
	// keys/loop.vkey, and export's trust (trust.ForDataDir) no longer names it.
	t.Run("switch turned off", func(t *testing.T) {
		yml := filepath.Join(ln.dir, "node.yaml")
		off := *ln.cfg
		off.Sanctions.LoopLog = false
		if err := node.WriteConfig(yml, &off); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := node.WriteConfig(yml, ln.cfg); err != nil {
				t.Fatal(err)
			}
		}()
		if tf, err := trust.ForDataDir(ln.dir); err != nil {
			t.Fatal(err)
		} else if _, ok := tf.Lookup(loop); ok {
			t.Fatalf("trust of a node not running sanctions.loop_log names %s", loop)
		}
		if out, err := run(t, "verify", "--data", ln.dir); err != nil || !strings.Contains(out, loop+": OK, "+next+" entries verified") {
			t.Fatalf("loop log after the switch was turned off: %v\n%s", err, out)
		}
	})
	t.Run("ledger failed", func(t *testing.T) {
		defer restore()
		flipEntry(t, ln.dir, schemas.LedgerOrigin("330000"), 0)
		verifyFails(t, ln.dir, "creditx.330000/ledger: FAILED at entry 0",
			loop+": NOT VERIFIED: "+next+" entries", "the keyring of its member's ledger creditx.330000/ledger is not known (it failed verification)")
	})
}
