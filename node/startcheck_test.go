package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/hashicorp/raft"
)

// stoppedNode runs a single-replica node, submits listings (each issues
// sanction notices), waits until the ledger settles, stops the node and
// returns its config (for a restart on the same files), the path of its
// ledger.db, its origin and the ledger size.
func stoppedNode(t *testing.T, listings int) (node.Config, string, string, uint64) {
	t.Helper()
	rn := runNode(t, listings)
	origin := rn.n.Origin()
	rn.stop()
	return rn.cfg, filepath.Join(rn.cfg.DataDir, "ledger.db"), origin, rn.size
}

type runningNode struct {
	cfg  node.Config
	n    *node.Node
	stop func()
	aud  *client.Credentials
	pub  *client.Credentials
	size uint64 // settled ledger size
}

// runNode runs a single-replica node, submits listings and waits until the
// ledger settles.
func runNode(t *testing.T, listings int) *runningNode { return runNodeWith(t, listings, nil) }

// runNodeWith is runNode with the config changed by edit (if not nil).
func runNodeWith(t *testing.T, listings int, edit func(*node.Config)) *runningNode {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	if edit != nil {
		edit(&cfg)
	}
	n, stop := nodetest.Start(t, cfg)
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
	aud, err := client.LoadCredentials(filepath.Join(dir, "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range listings {
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
	size := func() uint64 {
		var st node.Status
		if err := aud.Get(ctx, n.URL()+"/v1/status", &st); err != nil {
			t.Fatal(err)
		}
		return st.Size
	}
	last, stable := size(), 0
	for stable < 5 {
		time.Sleep(100 * time.Millisecond)
		if s := size(); s == last {
			stable++
		} else {
			last, stable = s, 0
		}
	}
	return &runningNode{cfg: cfg, n: n, stop: stop, aud: aud, pub: pub, size: last}
}

// entryBytes reads entry i of origin from a stopped node's ledger.db.
func entryBytes(t *testing.T, path, origin string, i uint64) []byte {
	t.Helper()
	s, err := ledger.Open(path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Log(origin).Entry(i)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// refusedStart starts a node on cfg and requires New to refuse with a
// *node.StartError.
func refusedStart(t *testing.T, cfg node.Config) *node.StartError {
	t.Helper()
	n, err := node.New(cfg)
	if err == nil {
		n.Run(canceled())
		t.Fatal("node started on a damaged ledger.db")
	}
	var se *node.StartError
	if !errors.As(err, &se) {
		t.Fatalf("New = %v, want *node.StartError", err)
	}
	t.Logf("refused: %v", err)
	return se
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestStartRefusesFlippedEntryByte: one flipped byte inside an entry that is
// not the last (Open only checks the tail): the node refuses to start,
// naming the entry, instead of serving the altered record.
func TestStartRefusesFlippedEntryByte(t *testing.T) {
	cfg, path, origin, size := stoppedNode(t, 2)
	const target = 3
	if size <= target+1 {
		t.Fatalf("ledger size %d too small", size)
	}
	e := entryBytes(t, path, origin, target)
	nodetest.EditLedgerDB(t, path, func(raw []byte, _ int) {
		for _, off := range nodetest.Occurrences(t, raw, e) { // live copy and stale ones in free pages
			raw[off+len(e)/2] ^= 0x01
		}
	})
	se := refusedStart(t, cfg)
	if se.Index != target || !strings.Contains(se.Error(), "entry 3") {
		t.Fatalf("StartError %v (index %d), want entry %d named", se, se.Index, target)
	}
}

// TestStartRefusesDamagedPageHeader: a flipped page header (the type flags
// of the page holding an entry) made bbolt panic on read; the node refuses
// to start naming the page.
func TestStartRefusesDamagedPageHeader(t *testing.T) {
	cfg, path, origin, _ := stoppedNode(t, 2)
	e := entryBytes(t, path, origin, 3)
	pages := map[int64]bool{}
	nodetest.EditLedgerDB(t, path, func(raw []byte, ps int) {
		// Every page holding a copy of the entry: the live one and stale
		// copies in free pages (bbolt copies on write).
		for _, off := range nodetest.Occurrences(t, raw, e) {
			if p := off / ps; !pages[int64(p)] {
				pages[int64(p)] = true
				raw[p*ps+8] ^= 0xff
			}
		}
	})
	se := refusedStart(t, cfg)
	var pe *ledger.PageError
	if !errors.As(se, &pe) || !pages[pe.Page] || !strings.Contains(se.Error(), "page") {
		t.Fatalf("StartError %v, want a PageError naming one of pages %v", se, pages)
	}
}

// TestStartRefusesRolledBackMetaPage: a damaged newest meta page makes bbolt
// silently open ledger.db one commit back (the last batch of entries gone).
// The node refuses to start, naming the meta page and the rollback behind
// the checkpoint it signed, and keeps refusing on later starts (bbolt
// rewrites the damaged page, the checkpoint file still remembers).
func TestStartRefusesRolledBackMetaPage(t *testing.T) {
	cfg, path, _, size := stoppedNode(t, 2)
	ms, err := ledger.ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	newest := ms.OpenTxid
	nodetest.EditLedgerDB(t, path, func(raw []byte, ps int) {
		raw[int(newest%2)*ps+16+16] ^= 0x01 // root bucket page id: checksum fails, txid readable
	})
	se := refusedStart(t, cfg)
	msg := se.Error()
	if se.Check != "signed checkpoint" || !strings.Contains(msg, "rolled back") ||
		!strings.Contains(msg, "meta page") || se.Index < 0 || uint64(se.Index) >= size {
		t.Fatalf("StartError %q (index %d), want a rollback below size %d naming the meta page", msg, se.Index, size)
	}
	se = refusedStart(t, cfg)
	if se.Check != "signed checkpoint" || !strings.Contains(se.Error(), "rolled back") {
		t.Fatalf("second start: %v, want the rollback refused again", se)
	}
}

// TestServeRefusesDamagedEntry: a byte flipped in ledger.db under a running
// node (the file is memory-mapped, so the node sees it at once): the record
// and its entry bundle are refused with 500 and a message without internal
// detail, not served altered with 200. The undamaged neighbour still is.
func TestServeRefusesDamagedEntry(t *testing.T) {
	rn := runNode(t, 2)
	path := filepath.Join(rn.cfg.DataDir, "ledger.db")
	code := strings.TrimSuffix(strings.TrimPrefix(rn.n.Origin(), "creditx."), "/ledger")
	ctx := context.Background()
	var rv node.RecordView
	if err := rn.aud.Get(ctx, rn.n.URL()+"/v1/records/"+code+"/3", &rv); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec bytes.Buffer
	if err := json.Compact(&rec, rv.Record); err != nil {
		t.Fatal(err)
	}
	for _, off := range nodetest.Occurrences(t, raw, rec.Bytes()) { // live and stale copies
		off += rec.Len() / 2
		if _, err := f.WriteAt([]byte{raw[off] ^ 0x01}, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"/v1/records/" + code + "/3", "/ledger/" + code + "/tile/entries/000.p/" + fmt.Sprint(rn.size)} {
		err = rn.aud.Get(ctx, rn.n.URL()+u, &json.RawMessage{})
		if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "integrity check") ||
			strings.Contains(err.Error(), "ledger:") || strings.Contains(err.Error(), "tile 0/") {
			t.Fatalf("GET %s after damage: %v, want 500 naming the integrity check and nothing internal", u, err)
		}
	}
	if err := rn.aud.Get(ctx, rn.n.URL()+"/v1/records/"+code+"/2", &rv); err != nil {
		t.Fatalf("undamaged record 2: %v", err)
	}
}

// TestTilePathErrorsArePublic: a malformed or absent tile answers 400/404
// with the reason and nothing of the node's internals.
func TestTilePathErrorsArePublic(t *testing.T) {
	rn := runNode(t, 0)
	code := strings.TrimSuffix(strings.TrimPrefix(rn.n.Origin(), "creditx."), "/ledger")
	for u, want := range map[string]string{
		"/ledger/" + code + "/tile/0/x000/001":  "400",
		"/ledger/" + code + "/tile/99/000":      "400",
		"/ledger/" + code + "/tile/0/005":       "404",
		"/ledger/" + code + "/tile/entries/007": "404",
	} {
		err := rn.aud.Get(context.Background(), rn.n.URL()+u, &json.RawMessage{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("GET %s = %v, want %s", u, err, want)
		}
		if m := err.Error(); strings.Contains(m, "ledger:") || strings.Contains(m, "stored") || strings.Contains(m, "creditx.") {
			t.Fatalf("GET %s leaks internals: %s", u, m)
		}
	}
}

// TestStartRefusesLedgerBehindRaftSnapshot: ledger.db replaced by an older
// copy (a restored backup). Raft restarts after its latest snapshot and
// would never replay what lies between, so the node refuses to start, both
// by the checkpoint it signed and, with that file gone too, by raft's
// snapshot index.
func TestStartRefusesLedgerBehindRaftSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	cfg.Raft.SnapshotThreshold, cfg.Raft.SnapshotInterval, cfg.Raft.TrailingLogs = 2, 50*time.Millisecond, 1
	path := filepath.Join(cfg.DataDir, "ledger.db")
	_, stop := nodetest.Start(t, cfg)
	stop()
	backup, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, stop := nodetest.Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		t.Fatal(err)
	}
	seeded := node.AppliedIndexForTest(n)
	// The threshold (2 entries) need not be reached again after the last
	// seeding command: ask for a snapshot rather than wait for one. Nothing
	// new to snapshot means one already holds the seeding.
	if err := node.SnapshotForTest(n); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		t.Fatal(err)
	}
	snaps := filepath.Join(cfg.DataDir, "raft", "snapshots")
	for {
		// A snapshot that holds the seeding (raft index at or after its
		// last command; a snapshot at a later no-op or barrier only holds
		// a ledger copy no newer than the backup's, and the start check
		// rightly accepts that): snapshot directories are named
		// <term>-<index>-<ms>.
		newer := false
		ents, _ := os.ReadDir(snaps)
		for _, e := range ents {
			var term, index, ms uint64
			if _, err := fmt.Sscanf(e.Name(), "%d-%d-%d", &term, &index, &ms); err == nil && index >= seeded && !strings.HasSuffix(e.Name(), ".tmp") {
				newer = true
			}
		}
		if newer {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("raft took no snapshot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if se := refusedStart(t, cfg); se.Check != "signed checkpoint" || !strings.Contains(se.Error(), "rolled back") {
		t.Fatalf("with the checkpoint file: %v, want the signed checkpoint check to refuse", se)
	}
	if err := os.Remove(filepath.Join(cfg.DataDir, "ledger.checkpoint")); err != nil {
		t.Fatal(err)
	}
	if se := refusedStart(t, cfg); se.Check != "raft" || !strings.Contains(se.Error(), "raft's latest snapshot is at") {
		t.Fatalf("without it: %v, want the raft check to refuse", se)
	}
}

// TestStartSkipLedgerScanKeepsRollbackCheck: Config.SkipLedgerScan (bench
// check on a kept region) skips the full scan, not the cheap checks: a
// ledger.db rolled back behind the checkpoint the node signed is still
// refused.
func TestStartSkipLedgerScanKeepsRollbackCheck(t *testing.T) {
	cfg, path, _, _ := stoppedNode(t, 2)
	ms, err := ledger.ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.EditLedgerDB(t, path, func(raw []byte, ps int) {
		raw[int(ms.OpenTxid%2)*ps+16+16] ^= 0x01 // as TestStartRefusesRolledBackMetaPage
	})
	cfg.SkipLedgerScan = true
	se := refusedStart(t, cfg)
	if se.Check != "signed checkpoint" || !strings.Contains(se.Error(), "rolled back") {
		t.Fatalf("StartError %v, want the rollback refused with the scan skipped", se)
	}
}
