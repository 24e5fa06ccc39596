package tileserve

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"sync"

	"github.com/creditx/creditx/internal/disclose"
)

// BundleCache keeps, for recently served entry bundles, what serving them
// costs to compute: whether every entry is public (and the persons the
// others name) and the gzip encoding. With N members every bundle of a
// ledger is fetched by its N-1 mirrors; scanning and compressing it once
// instead of N-1 times was 30% of the CPU of 16 members in one process
// (issue 20). Keyed by SHA-256 of the bundle's bytes, so a hit is exactly
// the answer for those bytes whatever the path (a partial bundle's path
// names its width; the bytes decide). At most BundleCacheMax entries,
// oldest dropped. Safe for concurrent use.
type BundleCache struct {
	mu    sync.Mutex
	m     map[[32]byte]*BundleInfo // guarded by mu
	order [][32]byte               // insertion order, guarded by mu
}

// BundleCacheMax bounds the cache: a few bundles per member of a large
// consortium (a full bundle is ~300 KiB raw, ~60 KiB compressed).
const BundleCacheMax = 512

// BundleInfo is what the cache knows of one bundle; immutable once stored.
type BundleInfo struct {
	Public  bool
	Persons []string
	gz      []byte // gzip of the bundle; nil until first asked for
}

func (c *BundleCache) get(key [32]byte) *BundleInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *BundleCache) put(key [32]byte, bi *BundleInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]*BundleInfo{}
	}
	if _, ok := c.m[key]; !ok {
		for len(c.order) >= BundleCacheMax {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, key)
	}
	c.m[key] = bi
}

// bundle returns the privacy scan of an entry bundle (disclose.Bundle),
// cached by its bytes.
func (c *BundleCache) Scan(data []byte) ([32]byte, *BundleInfo) {
	key := sha256.Sum256(data)
	if bi := c.get(key); bi != nil {
		return key, bi
	}
	public, persons := disclose.Bundle(data)
	bi := &BundleInfo{Public: public, Persons: persons}
	c.put(key, bi)
	return key, bi
}

// gzipped returns the gzip encoding of the bundle with key, compressing and
// caching it the first time.
func (c *BundleCache) Gzipped(key [32]byte, bi *BundleInfo, data []byte) []byte {
	if bi.gz != nil {
		return bi.gz
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(data)
	zw.Close()
	c.put(key, &BundleInfo{Public: bi.Public, Persons: bi.Persons, gz: buf.Bytes()})
	return buf.Bytes()
}
