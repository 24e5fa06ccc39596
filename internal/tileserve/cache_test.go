package tileserve

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"
)

func TestBundleCache(t *testing.T) {
	var c BundleCache
	data := bytes.Repeat([]byte("\x00\x05hello"), 100)
	key, bi := c.Scan(data)
	gz := c.Gzipped(key, bi, data)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, data) {
		t.Fatal("gzip does not decode to the bundle")
	}
	// The same bytes again (any path): the cached scan and encoding.
	key2, bi2 := c.Scan(bytes.Clone(data))
	if key2 != key || bi2.gz == nil || &c.Gzipped(key2, bi2, data)[0] != &gz[0] {
		t.Error("the same bundle was compressed again")
	}
	// Other bytes: another entry.
	if k, _ := c.Scan(append(bytes.Clone(data), 0)); k == key {
		t.Error("different bundles share a key")
	}
	// Bounded.
	for i := 0; i < BundleCacheMax+10; i++ {
		c.Scan([]byte(fmt.Sprint(i)))
	}
	if len(c.m) != BundleCacheMax || len(c.order) != BundleCacheMax {
		t.Errorf("cache holds %d (%d in order), want %d", len(c.m), len(c.order), BundleCacheMax)
	}
}
