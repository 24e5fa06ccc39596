package ledger

import (
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestHashCacheUpperLevels: inclusion proofs still verify, and the cache
// holds only hashes from cacheMinLevel up (the lower ones are read from
// the entry's tiles), some of which it does hold.
func TestHashCacheUpperLevels(t *testing.T) {
	s := openTest(t)
	const n = 3*TileWidth + 17
	appendN(t, s, testOrigin, 0, n)
	err := s.View(func(tx *ReadTx) error {
		lr := tx.Log(testOrigin)
		root, err := lr.TreeHash(n)
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i += 7 {
			p, err := lr.InclusionProof(i, n)
			if err != nil {
				return err
			}
			if err := tlog.CheckRecord(p, n, root, int64(i), tlog.RecordHash(testEntry(i))); err != nil {
				t.Fatalf("proof of %d: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := s.hashes.c.Keys()
	if len(keys) == 0 {
		t.Fatal("no hash cached after proofs at size > 2 tiles")
	}
	for _, k := range keys {
		if level, _ := tlog.SplitStoredHashIndex(k.(hashKey).index); level < cacheMinLevel {
			t.Fatalf("cached a level-%d hash (index %d)", level, k.(hashKey).index)
		}
	}
}
