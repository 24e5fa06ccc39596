package node

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"sync"

	"github.com/creditx/creditx/internal/disclose"
)

// bundleCache keeps, for recently served entry bundles, what serving them
// costs to compute: whether every entry is public (and the persons the
// others name) and the gzip encoding. With N members every bundle of a
// ledger is fetched by its N-1 mirrors; scanning and compressing it once
// instead of N-1 times was 30% of the CPU of 16 members in one process
// (issue 20). Keyed by SHA-256 of the bundle's bytes, so a hit is exactly
// the answer for those bytes whatever the path (a partial bundle's path
// names its width; the bytes decide). At most bundleCacheMax entries,
// oldest dropped. Safe for concurrent use.
type bundleCache struct {
	mu    sync.Mutex
	m     map[[32]byte]*bundleInfo // guarded by mu
	order [][32]byte               // insertion order, guarded by mu
}

// bundleCacheMax bounds the cache: a few bundles per member of a large
// consortium (a full bundle is ~300 KiB raw, ~60 KiB compressed).
const bundleCacheMax = 512

// bundleInfo is what the cache knows of one bundle; immutable once stored.
type bundleInfo struct {
	public  bool
	persons []string
	gz      []byte // gzip of the bundle; nil until first asked for
}

func (c *bundleCache) get(key [32]byte) *bundleInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *bundleCache) put(key [32]byte, bi *bundleInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]*bundleInfo{}
	}
	if _, ok := c.m[key]; !ok {
		for len(c.order) >= bundleCacheMax {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, key)
	}
	c.m[key] = bi
}

// bundle returns the privacy scan of an entry bundle (disclose.Bundle),
// cached by its bytes.
func (c *bundleCache) bundle(data []byte) ([32]byte, *bundleInfo) {
	key := sha256.Sum256(data)
	if bi := c.get(key); bi != nil {
		return key, bi
	}
	public, persons := disclose.Bundle(data)
	bi := &bundleInfo{public: public, persons: persons}
	c.put(key, bi)
	return key, bi
}

// gzipped returns the gzip encoding of the bundle with key, compressing and
// caching it the first time.
func (c *bundleCache) gzipped(key [32]byte, bi *bundleInfo, data []byte) []byte {
	if bi.gz != nil {
		return bi.gz
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(data)
	zw.Close()
	c.put(key, &bundleInfo{public: bi.public, persons: bi.persons, gz: buf.Bytes()})
	return buf.Bytes()
}
