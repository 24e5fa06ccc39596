package ledger

import (
	"sync"

	lru "github.com/hashicorp/golang-lru"
	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheSize bounds the LRU part of the cache of stored hashes (about
// 100 bytes each).
const hashCacheSize = 1 << 18

// Upper-level hashes: every stored hash of tree level upperLevel or more
// (a complete subtree of 64 leaves or more) is kept for good, up to
// upperMax of them: about N/32 for N entries (312,000 at 10^7, ~40 bytes
// each in a map without pointers, which the garbage collector does not
// scan). tlog stores only levels 0, 8, 16, ...; a level-k hash in between
// is recomputed from a tile with 2^(k mod 8) - 1 SHA-256, so an inclusion
// proof of a random entry, with its levels 1-7 recomputed, costs 247
// SHA-256 (~35 us) where its levels 6 and 7 (190 of them) are not cached.
// At 10^6 entries and more the LRU alone misses most of them: it holds a
// quarter or less of the levels 1-7 hashes, and each proof evicts shared
// ones with hashes of its own (levels 1-5, 57 SHA-256 at most when
// recomputed, stay in the LRU).
//
// Levels below lowLevel are not cached at all: recomputing a proof's
// levels 1-3 takes 11 SHA-256 (~2 us), less than the locked LRU lookups
// and insertions they cost (13 us of a check at 10^7 entries, where the
// LRU seldom holds them).
const (
	upperLevel = 6
	upperMax   = 1 << 21
	lowLevel   = 4
)

// hashCache remembers stored tree hashes (tlog's numbering) that proofs
// read. Every stored hash is the hash of a complete subtree, which never
// changes once committed, so entries never go stale; only read transactions
// fill it (a write transaction may still roll back). A snapshot restore
// replaces the whole Store, and with it the cache. Safe for concurrent use.
type hashCache struct {
	c *lru.Cache // levels below upperLevel

	mu     sync.RWMutex
	upper  map[string]map[int64]tlog.Hash // guarded by mu: origin -> stored hash index -> hash, levels from upperLevel up
	nUpper int                            // guarded by mu
}

type hashKey struct {
	origin string
	index  int64
}

func newHashCache(size int) *hashCache {
	c, err := lru.New(size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &hashCache{c: c, upper: map[string]map[int64]tlog.Hash{}}
}

func isUpper(index int64) bool {
	level, _ := tlog.SplitStoredHashIndex(index)
	return level >= upperLevel
}

func isLow(index int64) bool {
	level, _ := tlog.SplitStoredHashIndex(index)
	return level < lowLevel
}

func (c *hashCache) get(origin string, index int64) (tlog.Hash, bool) {
	if isLow(index) {
		return tlog.Hash{}, false
	}
	if isUpper(index) {
		c.mu.RLock()
		h, ok := c.upper[origin][index]
		c.mu.RUnlock()
		return h, ok
	}
	if v, ok := c.c.Get(hashKey{origin, index}); ok {
		return v.(tlog.Hash), true
	}
	return tlog.Hash{}, false
}

func (c *hashCache) add(origin string, index int64, h tlog.Hash) {
	if isLow(index) {
		return
	}
	if !isUpper(index) {
		c.c.Add(hashKey{origin, index}, h)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nUpper >= upperMax {
		return
	}
	m := c.upper[origin]
	if m == nil {
		m = map[int64]tlog.Hash{}
		c.upper[origin] = m
	}
	if _, ok := m[index]; !ok {
		m[index] = h
		c.nUpper++
	}
}

// cachedHashes is a tlog.HashReader over r with the cache in front.
type cachedHashes struct {
	c      *hashCache
	origin string
	r      tlog.HashReader
}

func (h cachedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	var missAt []int
	for i, idx := range indexes {
		if v, ok := h.c.get(h.origin, idx); ok {
			out[i] = v
			continue
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
