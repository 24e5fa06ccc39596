package startcheck

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/ledger"
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
	if err := RaftApplied(rdir, "ledger.db", 10, nil); err != nil {
		t.Fatalf("applied up to the snapshot: %v", err)
	}
	err = RaftApplied(rdir, "ledger.db", 9, nil)
	var se *StartError
	if !errors.As(err, &se) || se.Check != "raft" || !errors.Is(err, ErrRolledBack) {
		t.Fatalf("applied below the snapshot: %v; want a raft StartError matching ErrRolledBack", err)
	}
	put("2-60-4", `{"Index":`)
	if _, err := LatestRaftSnapshot(rdir); err == nil {
		t.Fatal("a torn meta.json must fail, not be skipped")
	}
}

// TestRaftAppliedSnapshotLabelledByNoOp: a snapshot's index counts raft's
// own entries (the no-op of an election, barriers) that never reach the
// FSM, so the ledger.db inside it may have applied less than the label.
// A ledger.db that applied as much as the snapshot's own state starts; one
// that applied less is rolled back; an unreadable snapshot state refuses.
func TestRaftAppliedSnapshotLabelledByNoOp(t *testing.T) {
	rdir := t.TempDir()
	d := filepath.Join(rdir, "snapshots", "2-12-1")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "meta.json"), []byte(`{"Index":12}`), 0o600); err != nil {
		t.Fatal(err)
	}
	inSnap := func(n uint64, err error) func(string) (uint64, error) {
		return func(dir string) (uint64, error) {
			if dir != d {
				t.Errorf("snapApplied asked for %s, want %s", dir, d)
			}
			return n, err
		}
	}
	tests := []struct {
		name    string
		applied uint64
		snap    func(string) (uint64, error)
		refused bool
	}{
		{"the gap is the no-op: starts", 11, inSnap(11, nil), false},
		{"applied more than the snapshot's state: starts", 11, inSnap(10, nil), false},
		{"rolled back below the snapshot's state", 9, inSnap(11, nil), true},
		{"snapshot state unreadable", 11, inSnap(0, errors.New("torn")), true},
		{"no reader: the label decides", 11, nil, true},
		{"state claims more than its label", 11, inSnap(13, nil), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := RaftApplied(rdir, "ledger.db", tc.applied, tc.snap)
			var se *StartError
			if tc.refused != (err != nil) || (err != nil && (!errors.As(err, &se) || se.Check != "raft")) {
				t.Fatalf("RaftApplied = %v, want refused %v (a raft StartError)", err, tc.refused)
			}
		})
	}
}

// TestSaverOpensEachCheckpointOnce: after every applied batch Save reads the
// latest own checkpoint; the same bytes are opened (a signature check) only
// once, a new checkpoint is opened and written, and one that fails to open
// is not remembered (issue 20: most batches do not change the own
// checkpoint).
func TestSaverOpensEachCheckpointOnce(t *testing.T) {
	dir := t.TempDir()
	cur := []byte("cp 3")
	opens := 0
	fail := false
	c := &Saver{
		File: filepath.Join(dir, CheckpointFileName),
		Read: func() ([]byte, error) { return append([]byte(nil), cur...), nil },
		Open: func(b []byte) (*ledger.Checkpoint, error) {
			opens++
			if fail {
				return nil, errors.New("bad signature")
			}
			var n uint64
			if _, err := fmt.Sscanf(string(b), "cp %d", &n); err != nil {
				return nil, err
			}
			return &ledger.Checkpoint{Size: n}, nil
		},
		Log: slog.New(slog.DiscardHandler),
	}
	file := func() string {
		t.Helper()
		b, err := os.ReadFile(c.File)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for range 5 {
		c.Save()
	}
	if opens != 1 || file() != "cp 3" {
		t.Errorf("five saves of one checkpoint: %d opens, file %q; want 1, %q", opens, file(), "cp 3")
	}
	cur = []byte("cp 4")
	c.Save()
	c.Save()
	if opens != 2 || file() != "cp 4" {
		t.Errorf("a new checkpoint: %d opens in all, file %q; want 2, %q", opens, file(), "cp 4")
	}
	cur, fail = []byte("cp 5"), true
	c.Save()
	c.Save()
	if opens != 4 || file() != "cp 4" {
		t.Errorf("a checkpoint that does not open: %d opens in all, file %q; want 4 (tried each time), %q", opens, file(), "cp 4")
	}
	fail = false
	c.Save()
	if opens != 5 || file() != "cp 5" {
		t.Errorf("once it opens: %d opens in all, file %q; want 5, %q", opens, file(), "cp 5")
	}
}
