package tileserve

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/internal/freelist"
	"github.com/creditx/creditx/ledger"
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

	compressions atomic.Uint64 // gzip encodings made (tests)

	// writers keeps gzip writers by level, index level-gzip.HuffmanOnly
	// (a writer allocates 0.8 MB of compressor state at the default level,
	// 1.2 MB at BestSpeed: allocating one per bundle was a tenth of the
	// cost of compressing it, and garbage). A free list, not a sync.Pool:
	// a garbage collection empties a pool, and with 45 members in one
	// process collecting every 2 s new writers were 290 MB of the 4.3 GB
	// allocated during bench delta's convergence (issue 20). That keeps up
	// to freelist.Max writers (~1 MB each) alive per level used.
	writers [gzip.BestCompression - gzip.HuffmanOnly + 1]freelist.List[*gzip.Writer]
}

// BundleCacheMax bounds the cache: a few bundles per member of a large
// consortium (a full bundle is ~300 KiB raw, ~60 KiB compressed).
const BundleCacheMax = 512

// BundleInfo is what the cache knows of one bundle. Public and Persons are
// immutable once stored; the gzip encoding is made by the first caller of
// Gzipped, once, while concurrent callers wait for it.
type BundleInfo struct {
	Public  bool
	Persons []string

	gzOnce sync.Once
	gz     []byte // gzip of the bundle; written once under gzOnce
}

func (c *BundleCache) get(key [32]byte) *BundleInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// add stores bi under key unless the key has an entry, and returns the
// entry stored: two scans of the same new bundle share one BundleInfo, so
// its encoding is made once.
func (c *BundleCache) add(key [32]byte, bi *BundleInfo) *BundleInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]*BundleInfo{}
	}
	if old, ok := c.m[key]; ok {
		return old
	}
	for len(c.order) >= BundleCacheMax {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, key)
	c.m[key] = bi
	return bi
}

// Scan returns the privacy scan of an entry bundle (disclose.Bundle),
// cached by its bytes.
func (c *BundleCache) Scan(data []byte) *BundleInfo {
	key := sha256.Sum256(data)
	if bi := c.get(key); bi != nil {
		return bi
	}
	public, persons := disclose.Bundle(data)
	return c.add(key, &BundleInfo{Public: public, Persons: persons})
}

// Gzipped returns the gzip encoding of data, the bundle bi was scanned
// from, at level (compress/gzip's), compressing it on the first call for
// bi: with N members a new partial bundle is asked for by N-1 mirrors
// woken at once, and they wait for one compression instead of each making
// its own. A bundle's bytes decide its width, so its level is the same at
// every call.
func (c *BundleCache) Gzipped(bi *BundleInfo, data []byte, level int) []byte {
	bi.gzOnce.Do(func() {
		c.compressions.Add(1)
		bi.gz = c.gzipBytes(data, level)
	})
	return bi.gz
}

// BundleLevel is the gzip level of an entry bundle of width entries: a
// full bundle never changes and is fetched by every mirror of the log, once
// each, so it is compressed well (compress/gzip's default); a partial one
// is replaced as soon as the log grows, so it is compressed fast
// (BestSpeed). BenchmarkGzipLevel, signed listings, pooled writers: 16
// entries 60-65 us and 3,020 bytes at BestSpeed, 117 us and 2,802 at the
// default (+8% bytes for half the CPU); 256 entries 0.74-0.91 ms and 33.2 KB
// at BestSpeed, 1.25-1.33 ms and 25.6 KB at the default (+29% bytes on the
// bundle every mirror keeps fetching from a new member).
func BundleLevel(width int) int {
	if width < ledger.TileWidth {
		return gzip.BestSpeed
	}
	return gzip.DefaultCompression
}

// gzipBytes is the gzip encoding of data at level, with a kept writer
// if one is free.
func (c *BundleCache) gzipBytes(data []byte, level int) []byte {
	if level < gzip.HuffmanOnly || level > gzip.BestCompression {
		panic(fmt.Sprintf("tileserve: gzip level %d", level)) // a bug in the caller
	}
	writers := &c.writers[level-gzip.HuffmanOnly]
	var buf bytes.Buffer
	buf.Grow(len(data)/4 + 64)
	zw, ok := writers.Get()
	if ok {
		zw.Reset(&buf)
	} else {
		var err error
		if zw, err = gzip.NewWriterLevel(&buf, level); err != nil {
			panic(err) // a level outside compress/gzip's range: a bug in the caller
		}
	}
	zw.Write(data) // a bytes.Buffer does not fail
	zw.Close()
	zw.Reset(nil) // keep no reference to buf
	writers.Put(zw)
	return buf.Bytes()
}
