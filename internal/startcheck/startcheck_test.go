package startcheck

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLatestRaftSnapshotSkipsIncomplete: the latest complete snapshot
// counts; ".tmp" ids and ids without meta.json do not.
func TestLatestRaftSnapshotSkipsIncomplete(t *testing.T) {
	rdir := t.TempDir()
	if got, err := LatestRaftSnapshot(rdir); err != nil || got != 0 {
		t.Fatalf("no snapshots: %d, %v; want 0, nil", got, err)
	}
	put := func(id, meta string) {
		d := filepath.Join(rdir, "snapshots", id)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if meta != "" {
			if err := os.WriteFile(filepath.Join(d, "meta.json"), []byte(meta), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("2-10-1", `{"Index":10}`)
	put("2-40-2.tmp", `{"Index":40}`)
	put("2-50-3", "")
	got, err := LatestRaftSnapshot(rdir)
	if err != nil || got != 10 {
		t.Fatalf("LatestRaftSnapshot = %d, %v; want 10", got, err)
	}
	if err := RaftApplied(rdir, "ledger.db", 10); err != nil {
		t.Fatalf("applied up to the snapshot: %v", err)
	}
	err = RaftApplied(rdir, "ledger.db", 9)
	var se *StartError
	if !errors.As(err, &se) || se.Check != "raft" || !errors.Is(err, ErrRolledBack) {
		t.Fatalf("applied below the snapshot: %v; want a raft StartError matching ErrRolledBack", err)
	}
	put("2-60-4", `{"Index":`)
	if _, err := LatestRaftSnapshot(rdir); err == nil {
		t.Fatal("a torn meta.json must fail, not be skipped")
	}
}
