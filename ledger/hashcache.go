package ledger

import (
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru"
	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheSize bounds the LRU part of the cache of stored hashes (about
// 100 bytes each): the hashes that do not fit under denseMax.
const hashCacheSize = 1 << 18

// Dense levels: every stored hash of tree level denseLevel or more (a
// complete subtree of 8 leaves or more) is kept for good in an array per
// origin and level, indexed by its position in the level, up to denseMax
// of them: N/4 for N entries (2.5 million at 10^7, 80 MB in arrays
// without pointers, which the garbage collector does not scan). tlog
// stores only levels 0, 8, 16, ...; a level-k hash in between is
// recomputed from a tile with 2^(k mod 8) - 1 SHA-256, so an inclusion
// proof of a random entry with its levels 1-7 recomputed costs 247
// SHA-256 and a tile read per level. With the dense levels a proof
// recomputes only its levels 1 and 2 (4 SHA-256 from the level-0 tile
// that the check has just read) and reads every higher level from memory
// without a lock. Stop 32 kept levels >= 6 in a map (locked, ~40 bytes of
// overhead per hash) and levels 4-5 in the LRU, which at 10^7 missed most
// of them: the proof was ~29 us of a check.
//
// Hashes beyond denseMax (ledgers above ~1.6*10^7 entries in all) go to
// the LRU instead. Levels below denseLevel are not cached at all:
// recomputing them costs less than any lookup.
const (
	denseLevel = 3
	denseMax   = 1 << 22 // hashes: 128 MiB
	chunkShift = 10
	chunkSize  = 1 << chunkShift // hashes per chunk (32 KiB)
)

// hashCache remembers stored tree hashes (tlog's numbering) that proofs
// read. Every stored hash is the hash of a complete subtree, which never
// changes once committed, so entries never go stale; only read transactions
// fill it (a write transaction may still roll back). A snapshot restore
// replaces the whole Store, and with it the cache. Safe for concurrent use:
// get takes no lock for the dense levels.
type hashCache struct {
	c *lru.Cache // levels >= denseLevel that do not fit under denseMax

	dense atomic.Pointer[map[string]*denseLog] // copy-on-write under mu: origin -> its dense levels

	full     atomic.Bool // the dense part refused a chunk: no whole-tile fills
	mu       sync.Mutex  // serialises add's writes to dense
	nDense   int         // guarded by mu: hashes of the chunks allocated
	denseMax int         // bound on nDense (denseMax; smaller in tests)
}

// denseLog holds one origin's dense levels: for each tree level, a
// directory of chunks of chunkSize hashes, replaced (copy-on-write, under
// hashCache.mu) when it grows. A chunk's hash i is valid once bit i of have
// is set: add writes the hash, then sets the bit (atomically, so a get
// that sees the bit also sees the hash).
type denseLog struct {
	levels [64]atomic.Pointer[[]*hashChunk]
}

type hashChunk struct {
	have [chunkSize / 32]atomic.Uint32
	h    [chunkSize]tlog.Hash
}

type hashKey struct {
	origin string
	index  int64
}

func newHashCache(size, dense int) *hashCache {
	c, err := lru.New(size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	hc := &hashCache{c: c, denseMax: dense}
	hc.dense.Store(&map[string]*denseLog{})
	return hc
}

func (c *hashCache) get(origin string, index int64) (tlog.Hash, bool) {
	level, n := tlog.SplitStoredHashIndex(index)
	if level < denseLevel {
		return tlog.Hash{}, false
	}
	if d := (*c.dense.Load())[origin]; d != nil {
		if dir := d.levels[level].Load(); dir != nil {
			if ci := n >> chunkShift; ci < int64(len(*dir)) {
				if ch := (*dir)[ci]; ch != nil {
					i := n & (chunkSize - 1)
					if ch.have[i/32].Load()&(1<<(i%32)) != 0 {
						return ch.h[i], true
					}
					return tlog.Hash{}, false // a chunk is never overflow: the LRU has none of its hashes
				}
			}
		}
	}
	if v, ok := c.c.Get(hashKey{origin, index}); ok {
		return v.(tlog.Hash), true
	}
	return tlog.Hash{}, false
}

func (c *hashCache) add(origin string, index int64, h tlog.Hash) {
	level, n := tlog.SplitStoredHashIndex(index)
	if level < denseLevel {
		return
	}
	if !c.addDense(origin, level, n, h) {
		c.c.Add(hashKey{origin, index}, h)
	}
}

// addDense stores h as the hash at position n of level in origin's dense
// levels; false if its chunk is not allocated and denseMax is reached.
func (c *hashCache) addDense(origin string, level int, n int64, h tlog.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	logs := *c.dense.Load()
	d := logs[origin]
	if d == nil {
		if c.nDense+chunkSize > c.denseMax {
			c.full.Store(true)
			return false
		}
		d = &denseLog{}
		m := make(map[string]*denseLog, len(logs)+1)
		for o, l := range logs {
			m[o] = l
		}
		m[origin] = d
		c.dense.Store(&m)
	}
	ci := n >> chunkShift
	var dir []*hashChunk
	if p := d.levels[level].Load(); p != nil {
		dir = *p
	}
	if ci >= int64(len(dir)) || dir[ci] == nil {
		if c.nDense+chunkSize > c.denseMax {
			c.full.Store(true)
			return false
		}
		grown := make([]*hashChunk, max(int64(len(dir)), ci+1))
		copy(grown, dir)
		grown[ci] = new(hashChunk)
		c.nDense += chunkSize
		d.levels[level].Store(&grown)
		dir = grown
	}
	ch, i := dir[ci], n&(chunkSize-1)
	if ch.have[i/32].Load()&(1<<(i%32)) == 0 {
		ch.h[i] = h
		ch.have[i/32].Or(1 << (i % 32))
	}
	return true
}

// cachedHashes is a tlog.HashReader over r with the cache in front.
type cachedHashes struct {
	c      *hashCache
	origin string
	r      tileHashes
}

func (h cachedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	var missAt []int
	var filled tlog.Tile // the tile whose subtrees were last added
	for i, idx := range indexes {
		if v, ok := h.c.get(h.origin, idx); ok {
			out[i] = v
			continue
		}
		// A dense-level hash not held yet: add every subtree hash of its
		// tile at once (255 SHA-256 for a full tile, the cost of its
		// level-7 hash alone), so that the first proofs through a tile
		// fill it instead of each recomputing its share (at 10^7 entries
		// level 3 alone has 1.25 million hashes: a lazy fill one hash at
		// a time would take millions of checks to warm).
		if level, _ := tlog.SplitStoredHashIndex(idx); level >= denseLevel && level%TileHeight != 0 && !h.c.full.Load() {
			if t := tlog.TileForIndex(TileHeight, idx); t.L != filled.L || t.N != filled.N || filled.H == 0 {
				filled = t
				h.r.subtrees(t.L, t.N, func(index int64, v tlog.Hash) { h.c.add(h.origin, index, v) })
				if v, ok := h.c.get(h.origin, idx); ok {
					out[i] = v
					continue
				}
			}
		}
		miss = append(miss, idx)
		missAt = append(missAt, i)
	}
	if len(miss) == 0 {
		return out, nil
	}
	got, err := h.r.ReadHashes(miss)
	if err != nil {
		return nil, err
	}
	for k, i := range missAt {
		out[i] = got[k]
		h.c.add(h.origin, miss[k], got[k])
	}
	return out, nil
}
