package main

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// stoppedNodeDir runs a region node, submits two listings (which issue
// notices), waits for the ledger to settle, stops the node and returns its
// data directory and entry 3's bytes.
func stoppedNodeDir(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	n, stop := nodetest.Start(t, *cfgs[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	pub, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		t.Fatal(err)
	}
	// The test plays the credit office: agencies hold no match key.
	if pub.MatchKey, err = provision.DevMatchKey(filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		l, err := synth.Listing(uint64(i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
			MatchKey: *pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Submit(ctx, n.URL(), e); err != nil {
			t.Fatal(err)
		}
	}
	// Notices are issued asynchronously: wait until entry 3 exists.
	for {
		var rv node.RecordView
		if err := pub.Get(ctx, n.URL()+"/v1/records/330000/3", &rv); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("entry 3 never appeared")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	s, err := ledger.Open(filepath.Join(cfgs[0].DataDir, "ledger.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e3, err := s.Log(n.Origin()).Entry(3)
	if err != nil {
		t.Fatal(err)
	}
	return cfgs[0].DataDir, e3
}

// keepLedgerDB copies dir's ledger.db and returns the function that puts
// the copy back, for subtests that damage the file.
func keepLedgerDB(t *testing.T, dir string) (restore func()) {
	t.Helper()
	p := filepath.Join(dir, "ledger.db")
	clean, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(p, clean, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// flipEntry flips one bit in the middle of entry i of origin in dir's
// ledger.db (its node stopped), in every copy the file holds (the live one
// and stale ones in free pages).
func flipEntry(t *testing.T, dir, origin string, i uint64) {
	t.Helper()
	p := filepath.Join(dir, "ledger.db")
	s, err := ledger.Open(p, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Log(origin).Entry(i)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	nodetest.EditLedgerDB(t, p, func(raw []byte, _ int) {
		for _, off := range nodetest.Occurrences(t, raw, e) {
			raw[off+len(e)/2] ^= 1
		}
	})
}

// verifyFails runs verify on dir and requires exit code 1 with want in the
// output (never a panic: run would not return).
func verifyFails(t *testing.T, dir string, want ...string) string {
	t.Helper()
	out, err := run(t, "verify", "--data", dir)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Fatalf("verify: err %v, want exit 1; output:\n%s", err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("verify output lacks %q:\n%s", w, out)
		}
	}
	t.Logf("verify:\n%s", out)
	return out
}

// TestVerifyNamesCorruption: on a real node's data directory, each of the
// three corruptions of issue 11 is reported by creditx verify, naming the
// entry or page, without a panic.
func TestVerifyNamesCorruption(t *testing.T) {
	dir, e3 := stoppedNodeDir(t)
	if out, err := run(t, "verify", "--data", dir); err != nil || !strings.Contains(out, "creditx.330000/ledger: OK") {
		t.Fatalf("untouched: %v\n%s", err, out)
	}
	restore := keepLedgerDB(t, dir)

	t.Run("entry byte", func(t *testing.T) {
		defer restore()
		nodetest.EditLedgerDB(t, filepath.Join(dir, "ledger.db"), func(raw []byte, _ int) {
			for _, off := range nodetest.Occurrences(t, raw, e3) { // the live copy and stale ones in free pages
				raw[off+len(e3)/2] ^= 1
			}
		})
		verifyFails(t, dir, "creditx.330000/ledger: FAILED at entry 3")
	})
	t.Run("page header", func(t *testing.T) {
		defer restore()
		pages := map[int]bool{}
		nodetest.EditLedgerDB(t, filepath.Join(dir, "ledger.db"), func(raw []byte, ps int) {
			for _, off := range nodetest.Occurrences(t, raw, e3) {
				if p := off / ps; !pages[p] {
					pages[p] = true
					raw[p*ps+8] ^= 0xff
				}
			}
		})
		out := verifyFails(t, dir, "DAMAGED: page ")
		named := false
		for p := range pages {
			named = named || strings.Contains(out, "page "+strconv.Itoa(p)+":")
		}
		if !named || strings.Contains(out, "goroutine") {
			t.Fatalf("want one of pages %v named:\n%s", pages, out)
		}
	})
	t.Run("newest meta page", func(t *testing.T) {
		defer restore()
		ms, err := ledger.ReadMetaPages(filepath.Join(dir, "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		p := int(ms.OpenTxid % 2)
		nodetest.EditLedgerDB(t, filepath.Join(dir, "ledger.db"), func(raw []byte, ps int) { raw[p*ps+16+16] ^= 1 })
		verifyFails(t, dir, "ledger.db: DAMAGED: page "+strconv.Itoa(p)+": bbolt meta page", "ROLLED BACK",
			"ledger.db: ROLLED BACK: creditx.330000/ledger holds")
		// verify opened read-only: the evidence is still there.
		if ms, _ := ledger.ReadMetaPages(filepath.Join(dir, "ledger.db")); ms == nil || func() bool { _, bad := ms.Damaged(); return !bad }() {
			t.Fatal("verify repaired the damaged meta page")
		}
	})
}

// TestVerifyPageCheckBesideEntries: bbolt's page check runs beside the
// entry pass, and a damaged page that only it finds still fails the verify
// with its message. The damage: the freelist page of the open commit lists
// the root bucket's page as free. Every entry, tile and checkpoint still
// reads and verifies (a read-only open never loads the freelist); only the
// page check sees a page both reachable and free.
func TestVerifyPageCheckBesideEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "600"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ledger.db")
	ms, err := ledger.ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	nodetest.EditLedgerDB(t, path, func(raw []byte, ps int) {
		meta := raw[int(ms.OpenTxid%2)*ps+16:] // the open meta page, after its page header
		le := binary.LittleEndian
		root = le.Uint64(meta[16:])              // root bucket page; the freelist page id follows its sequence
		fl := raw[int(le.Uint64(meta[32:]))*ps:] // the freelist page: count at 10, ids (u64, ascending) from 16
		n := int(le.Uint16(fl[10:]))
		if n >= 0xffff || 16+(n+1)*8 > ps {
			t.Fatalf("freelist holds %d pages; this test needs a short one", n)
		}
		ids := []uint64{root}
		for i := range n {
			ids = append(ids, le.Uint64(fl[16+i*8:]))
		}
		slices.Sort(ids)
		le.PutUint16(fl[10:], uint16(len(ids)))
		for i, id := range ids {
			le.PutUint64(fl[16+i*8:], id)
		}
	})
	want := "ledger.db: DAMAGED: page " + strconv.FormatUint(root, 10) + ": "
	out := verifyFails(t, dir, want, "creditx.330000/ledger: OK, 601 entries verified")
	if strings.Contains(out, "goroutine") {
		t.Fatalf("a panic:\n%s", out)
	}
}
