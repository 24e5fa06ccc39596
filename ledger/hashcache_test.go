package ledger

import (
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestHashCacheLevels: inclusion proofs read through the cache verify (a
// second pass served from it too), hashes from upperLevel up are kept in
// the upper map, those from lowLevel to below upperLevel in the LRU, and
// none below lowLevel.
func TestHashCacheLevels(t *testing.T) {
	s := openTest(t)
	const n = 3*TileWidth + 17
	appendN(t, s, testOrigin, 0, n)
	for pass := range 2 {
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
					t.Fatalf("pass %d: proof of %d: %v", pass, i, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := s.hashes
	if len(c.upper[testOrigin]) == 0 || c.nUpper != len(c.upper[testOrigin]) {
		t.Fatalf("upper map holds %d hashes, counted %d", len(c.upper[testOrigin]), c.nUpper)
	}
	for idx := range c.upper[testOrigin] {
		if level, _ := tlog.SplitStoredHashIndex(idx); level < upperLevel {
			t.Fatalf("upper map holds a level-%d hash", level)
		}
	}
	if c.c.Len() == 0 {
		t.Fatal("the LRU holds no lower-level hash after proofs")
	}
	for _, k := range c.c.Keys() {
		if level, _ := tlog.SplitStoredHashIndex(k.(hashKey).index); level >= upperLevel || level < lowLevel {
			t.Fatalf("the LRU holds a level-%d hash", level)
		}
	}
}
