package ledger

import (
	lru "github.com/hashicorp/golang-lru"
	"golang.org/x/mod/sumdb/tlog"
)

// hashCacheSize bounds the cache of stored hashes (about 100 bytes each).
const hashCacheSize = 1 << 18

// hashCache remembers stored tree hashes (tlog's numbering) that proofs
// read. Every stored hash is the hash of a complete subtree, which never
// changes once committed, so entries never go stale; only read transactions
// fill it (a write transaction may still roll back). A snapshot restore
// replaces the whole Store, and with it the cache.
type hashCache struct{ c *lru.Cache }

type hashKey struct {
	origin string
	index  int64
}

func newHashCache(size int) *hashCache {
	c, err := lru.New(size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &hashCache{c: c}
}

// cachedHashes is a tlog.HashReader over r with the cache in front.
type cachedHashes struct {
	c      *hashCache
	origin string
	r      tlog.HashReader
}

// cacheMinLevel is the lowest tree level whose hashes the cache holds.
// An inclusion proof of a random entry reads about eight hashes below it
// from the entry's own tiles (the one page the proof reads anyway) and
// seldom again; caching them would evict the upper levels every proof
// shares, and costs a locked LRU update each. From this level up there
// are about N/128 hashes in all (78,000 at 10^7 entries), so they stay
// cached.
const cacheMinLevel = 8

func (h cachedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	var missAt []int
	for i, idx := range indexes {
		if level, _ := tlog.SplitStoredHashIndex(idx); level < cacheMinLevel {
			miss = append(miss, idx)
			missAt = append(missAt, i)
			continue
		}
		if v, ok := h.c.c.Get(hashKey{h.origin, idx}); ok {
			out[i] = v.(tlog.Hash)
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
		if level, _ := tlog.SplitStoredHashIndex(miss[k]); level >= cacheMinLevel {
			h.c.c.Add(hashKey{h.origin, miss[k]}, got[k])
		}
	}
	return out, nil
}
