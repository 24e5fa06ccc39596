package ledger

import (
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestHashCacheLevels: inclusion and consistency proofs read through the
// cache verify (a second pass served from it too), for a dense part that
// holds everything, one chunk, or nothing (denseMax reached: the LRU
// takes the rest). No hash below denseLevel is cached; every cached hash
// equals the one the tiles give; the dense part never allocates past its
// bound.
func TestHashCacheLevels(t *testing.T) {
	for _, tc := range []struct {
		name      string
		denseMax  int
		wantDense bool // some hash kept in the dense part
		wantLRU   bool // some hash kept in the LRU
	}{
		{"dense", denseMax, true, false},
		{"one chunk", chunkSize, true, true},
		{"lru only", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			s.hashes = newHashCache(hashCacheSize, tc.denseMax)
			const n = 40*TileWidth + 17 // level 3 of 10,257 leaves: 1,282 hashes, more than a chunk
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
					for old := int64(1); old < n; old += 997 {
						p, err := lr.ConsistencyProof(uint64(old), n)
						if err != nil {
							return err
						}
						oldRoot, err := lr.TreeHash(uint64(old))
						if err != nil {
							return err
						}
						if err := tlog.CheckTree(p, n, root, old, oldRoot); err != nil {
							t.Fatalf("pass %d: consistency proof from %d: %v", pass, old, err)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			c := s.hashes
			if c.nDense > tc.denseMax {
				t.Fatalf("dense part allocated %d hashes, bound %d", c.nDense, tc.denseMax)
			}
			var stored map[int64]tlog.Hash // every hash the cache holds, checked against the tiles
			stored = map[int64]tlog.Hash{}
			if d := (*c.dense.Load())[testOrigin]; d != nil {
				for level := range d.levels {
					dir := d.levels[level].Load()
					if dir == nil {
						continue
					}
					if level < denseLevel {
						t.Fatalf("dense part holds level %d", level)
					}
					for ci, ch := range *dir {
						if ch == nil {
							continue
						}
						for i := range chunkSize {
							if ch.have[i/32].Load()&(1<<(i%32)) != 0 {
								stored[tlog.StoredHashIndex(level, int64(ci*chunkSize+i))] = ch.h[i]
							}
						}
					}
				}
			}
			if got := len(stored) > 0; got != tc.wantDense {
				t.Fatalf("dense part holds %d hashes, want some: %v", len(stored), tc.wantDense)
			}
			if got := c.c.Len() > 0; got != tc.wantLRU {
				t.Fatalf("LRU holds %d hashes, want some: %v", c.c.Len(), tc.wantLRU)
			}
			for _, k := range c.c.Keys() {
				idx := k.(hashKey).index
				if _, dup := stored[idx]; dup {
					t.Fatalf("hash %d is both in the dense part and the LRU", idx)
				}
				v, _ := c.c.Peek(k)
				stored[idx] = v.(tlog.Hash)
			}
			err := s.View(func(tx *ReadTx) error {
				th := tileHashes{tx.Log(testOrigin).bk().tiles}
				for idx, h := range stored {
					if level, _ := tlog.SplitStoredHashIndex(idx); level < denseLevel {
						t.Fatalf("cache holds a level-%d hash", level)
					}
					want, err := th.ReadHashes([]int64{idx})
					if err != nil {
						return err
					}
					if want[0] != h {
						t.Fatalf("cached hash %d differs from the tiles'", idx)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHashCacheConcurrent: proofs from many goroutines at once fill and
// read the dense part (run with -race) and all verify.
func TestHashCacheConcurrent(t *testing.T) {
	s := openTest(t)
	const n = 20*TileWidth + 5
	appendN(t, s, testOrigin, 0, n)
	var root tlog.Hash
	if err := s.View(func(tx *ReadTx) (err error) { root, err = tx.Log(testOrigin).TreeHash(n); return err }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			err := s.View(func(tx *ReadTx) error {
				lr := tx.Log(testOrigin)
				for i := uint64(g); i < n; i += 3 {
					p, err := lr.InclusionProof(i, n)
					if err != nil {
						return err
					}
					if err := tlog.CheckRecord(p, n, root, int64(i), tlog.RecordHash(testEntry(i))); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestHashCacheFillsTile: one proof through a full level-0 tile adds all
// the tile's subtree hashes of levels denseLevel to 7 (32+16+8+4+2 for
// denseLevel 3), not only the proof's own, and none of a partial tile's
// incomplete subtrees.
func TestHashCacheFillsTile(t *testing.T) {
	s := openTest(t)
	const n = TileWidth + 20 // tile 0 full, tile 1 partial: 20 leaves
	appendN(t, s, testOrigin, 0, n)
	err := s.View(func(tx *ReadTx) error {
		lr := tx.Log(testOrigin)
		for _, i := range []uint64{5, TileWidth + 3} {
			if _, err := lr.InclusionProof(i, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d := (*s.hashes.dense.Load())[testOrigin]
	for level := denseLevel; level < TileHeight; level++ {
		want := TileWidth>>level + 20>>level // complete subtrees of tile 0, then of tile 1
		got := 0
		for _, ch := range *d.levels[level].Load() {
			for i := range chunkSize {
				if ch.have[i/32].Load()&(1<<(i%32)) != 0 {
					got++
				}
			}
		}
		if got != want {
			t.Errorf("level %d: %d hashes held, want %d", level, got, want)
		}
	}
}
