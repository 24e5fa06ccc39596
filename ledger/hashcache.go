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

func (h cachedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	var missAt []int
	for i, idx := range indexes {
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
		h.c.c.Add(hashKey{h.origin, miss[k]}, got[k])
	}
	return out, nil
}
