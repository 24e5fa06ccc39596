package raftcluster

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// TestLogStoreCachesRecentEntries: the log store a replica's raft uses
// serves the latest entries from memory (raft.db closed, they still
// read back byte for byte), caches only what raft.db stored, and a
// compaction (DeleteRange) empties the cache, so no deleted entry is
// served from it.
func TestLogStoreCachesRecentEntries(t *testing.T) {
	store, logs, err := openLogStore(filepath.Join(t.TempDir(), raftDBName))
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i uint64) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(i)}, 100)}
	}
	if err := logs.StoreLogs([]*raft.Log{entry(1), entry(2), entry(3)}); err != nil {
		t.Fatal(err)
	}
	if err := logs.DeleteRange(1, 1); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := logs.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(1) after DeleteRange(1, 1) = %v, want ErrLogNotFound", err)
	}
	if err := logs.StoreLogs([]*raft.Log{entry(4)}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// raft.db is closed: what reads back now came from the cache.
	if err := logs.GetLog(4, &l); err != nil {
		t.Fatalf("GetLog(4), stored after the compaction, raft.db closed: %v (not cached)", err)
	}
	if l.Index != 4 || !bytes.Equal(l.Data, entry(4).Data) {
		t.Fatalf("GetLog(4) = index %d, data %x...", l.Index, l.Data[:4])
	}
	if err := logs.GetLog(2, &l); err == nil {
		t.Fatal("GetLog(2) answered from the cache after a compaction emptied it")
	}
	// A store that failed caches nothing.
	if err := logs.StoreLogs([]*raft.Log{entry(5)}); err == nil {
		t.Fatal("StoreLogs on a closed raft.db succeeded")
	}
	if err := logs.GetLog(5, &l); err == nil {
		t.Fatal("GetLog(5): an entry raft.db refused was cached")
	}
	if got := logs.writes.Load(); got != 3 { // LogWrites: every StoreLogs, the failed one too
		t.Fatalf("counted %d log writes, want 3", got)
	}
}
