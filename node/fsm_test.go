package node

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/note"
)

func testFSM(t *testing.T, path string) (*fsm, note.Verifier) {
	t.Helper()
	const origin = "creditx.330000/ledger"
	skey, vkey, err := ledger.GenerateKey(origin, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	f, err := newFSM(path, ledger.Options{}, fsmConfig{logs: map[string]signingLog{origin: {signer: s, verifier: v}}, logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close() })
	return f, v
}

func appendLog(t *testing.T, index uint64, at time.Time, entries ...string) *raft.Log {
	t.Helper()
	var es [][]byte
	for _, e := range entries {
		es = append(es, []byte(e))
	}
	b, err := encodeCommand(command{op: opAppend, origin: "creditx.330000/ledger", entries: es})
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b, AppendedAt: at}
}

// TestFSMApply: duplicates keep their first index (within a batch and across
// batches), replayed raft entries are no-ops, every result carries a
// checkpoint covering it, and two FSMs fed the same logs store identical bytes.
func TestFSMApply(t *testing.T) {
	dir := t.TempDir()
	f1, v := testFSM(t, filepath.Join(dir, "a.db"))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	logs := []*raft.Log{
		appendLog(t, 1, t0, "a", "b", "a"),
		appendLog(t, 2, t0.Add(time.Millisecond), "c", "b"),
	}
	out := f1.ApplyBatch(logs)
	r1, r2 := out[0].(*applyResult), out[1].(*applyResult)
	if fmt.Sprint(r1.Indices, r1.Fresh) != "[0 1 0] [true true false]" {
		t.Errorf("batch 1: indices %v fresh %v", r1.Indices, r1.Fresh)
	}
	if fmt.Sprint(r2.Indices, r2.Fresh) != "[2 1] [true false]" {
		t.Errorf("batch 2: indices %v fresh %v", r2.Indices, r2.Fresh)
	}
	cp, err := ledger.OpenCheckpoint(r2.Checkpoint, "creditx.330000/ledger", v)
	if err != nil || cp.Size != 3 || r2.Size != 3 {
		t.Fatalf("checkpoint %+v, size %d, err %v", cp, r2.Size, err)
	}
	// Replay after a restart: nothing changes.
	again := f1.ApplyBatch(logs)
	if again[0].(*applyResult).Err != errReplayed {
		t.Errorf("replayed entry not recognised: %+v", again[0])
	}
	if n, _ := f1.appliedIndex(); n != 2 {
		t.Errorf("applied index %d, want 2", n)
	}
	// Same logs, other replica, same key: byte-identical ledger and checkpoint.
	f2, _ := testFSM(t, filepath.Join(dir, "b.db"))
	f2.logs = f1.logs
	f2.ApplyBatch(logs)
	var c1, c2 []byte
	f1.view(func(tx *ledger.ReadTx) error { c1, _ = tx.Log("creditx.330000/ledger").Checkpoint(); return nil })
	f2.view(func(tx *ledger.ReadTx) error { c2, _ = tx.Log("creditx.330000/ledger").Checkpoint(); return nil })
	if !bytes.Equal(c1, c2) {
		t.Errorf("replicas signed different checkpoints:\n%s\n%s", c1, c2)
	}
}

// TestFSMThinsCheckpointHistory: 100 batches within 2 s of raft time keep
// about one checkpoint per second in history, plus the latest.
func TestFSMThinsCheckpointHistory(t *testing.T) {
	f, v := testFSM(t, filepath.Join(t.TempDir(), "l.db"))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 100 {
		f.ApplyBatch([]*raft.Log{appendLog(t, uint64(i+1), t0.Add(time.Duration(i)*20*time.Millisecond), fmt.Sprintf("e%d", i))})
	}
	var sizes []uint64
	f.view(func(tx *ledger.ReadTx) error {
		return tx.Log("creditx.330000/ledger").Checkpoints(func(size uint64, _ []byte) error { sizes = append(sizes, size); return nil })
	})
	if len(sizes) < 2 || len(sizes) > 4 || sizes[len(sizes)-1] != 100 {
		t.Fatalf("history sizes %v: want 2-4 checkpoints ending with the latest (100)", sizes)
	}
	f.mu.RLock()
	_, err := ledger.VerifyStore(t.Context(), f.store, "creditx.330000/ledger", v, nil, nil)
	f.mu.RUnlock()
	if err != nil {
		t.Fatalf("thinned store does not verify: %v", err)
	}
}
