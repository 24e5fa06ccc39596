package tileserve

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/creditx/creditx/ledger"
)

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBundleCache(t *testing.T) {
	var c BundleCache
	data := bytes.Repeat([]byte("\x00\x05hello"), 100)
	bi := c.Scan(data)
	gz := c.Gzipped(bi, data, gzip.DefaultCompression)
	if !bytes.Equal(gunzip(t, gz), data) {
		t.Fatal("gzip does not decode to the bundle")
	}
	// The same bytes again (any path): the cached scan and encoding.
	bi2 := c.Scan(bytes.Clone(data))
	if bi2 != bi || &c.Gzipped(bi2, data, gzip.DefaultCompression)[0] != &gz[0] || c.compressions.Load() != 1 {
		t.Error("the same bundle was compressed again")
	}
	// Other bytes: another entry.
	if c.Scan(append(bytes.Clone(data), 0)) == bi {
		t.Error("different bundles share an entry")
	}
	// Bounded.
	for i := 0; i < BundleCacheMax+10; i++ {
		c.Scan([]byte(fmt.Sprint(i)))
	}
	if len(c.m) != BundleCacheMax || len(c.order) != BundleCacheMax {
		t.Errorf("cache holds %d (%d in order), want %d", len(c.m), len(c.order), BundleCacheMax)
	}
}

// TestBundleCacheCompressesOnce: mirrors woken at once asking for the same
// new bundle get one compression between them, and every answer decodes
// to the bundle, at either level, with the pooled writers reused.
func TestBundleCacheCompressesOnce(t *testing.T) {
	var c BundleCache
	for round, level := range []int{BundleLevel(7), BundleLevel(ledger.TileWidth), BundleLevel(7)} {
		data := bytes.Repeat([]byte(fmt.Sprintf("\x00\x0bbundle %03d", round)), 300)
		var wg sync.WaitGroup
		out := make([][]byte, 16)
		for i := range out {
			wg.Go(func() {
				out[i] = c.Gzipped(c.Scan(data), data, level)
			})
		}
		wg.Wait()
		if got := c.compressions.Load(); got != uint64(round+1) {
			t.Fatalf("round %d: %d compressions, want %d", round, got, round+1)
		}
		for i := range out {
			if !bytes.Equal(gunzip(t, out[i]), data) {
				t.Fatalf("round %d: answer %d does not decode to the bundle", round, i)
			}
		}
	}
	if BundleLevel(ledger.TileWidth-1) != gzip.BestSpeed || BundleLevel(ledger.TileWidth) != gzip.DefaultCompression {
		t.Error("partial bundles are not compressed fast or full ones not well")
	}
}

// TestBundleCacheKeepsWriterAcrossGC: a compression after garbage
// collections (which empty a sync.Pool) reuses the writer of the one
// before instead of allocating ~650 KiB of compressor state: with 45
// members in one process collecting every 2 s, new writers were 290 MB of
// bench delta's convergence (issue 20).
func TestBundleCacheKeepsWriterAcrossGC(t *testing.T) {
	var c BundleCache
	data := bytes.Repeat([]byte("\x00\x0bbundle 000"), 300)
	for _, level := range []int{BundleLevel(7), BundleLevel(ledger.TileWidth)} {
		c.gzipBytes(data, level)
		runtime.GC()
		runtime.GC() // the pool's victim cache too
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		gz := c.gzipBytes(data, level)
		runtime.ReadMemStats(&m1)
		if got := m1.TotalAlloc - m0.TotalAlloc; got > 64<<10 {
			t.Errorf("level %d: a compression after GC allocated %d bytes: a new writer", level, got)
		}
		if !bytes.Equal(gunzip(t, gz), data) {
			t.Errorf("level %d: gzip does not decode to the bundle", level)
		}
	}
}
