package tileserve

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/creditx/creditx/ledger"
)

// TestAcceptsGzip follows the q values of Accept-Encoding.
func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{"": false, "gzip": true, "br, gzip;q=0.5": true, "gzip;q=0": false,
		"*": true, "identity": false, "GZIP ; q=1.0": true, "gzip;q=x": false} {
		if got := AcceptsGzip(v); got != want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestWriteHeaders: an entry bundle is gzipped for a client that asks, a
// hash tile never; a non-public bundle is cached privately only.
func TestWriteHeaders(t *testing.T) {
	data := bytes.Repeat([]byte("entry"), 50)
	r := httptest.NewRequest("GET", "/tile/entries/000", nil)
	r.Header.Set("Accept-Encoding", "gzip")

	w := httptest.NewRecorder()
	Write(w, r, ledger.TileRef{Level: -1}, data, false)
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Cache-Control") != PrivateCacheControl {
		t.Fatalf("bundle headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, data) {
		t.Fatal("gzip body does not decode to the bundle")
	}

	w = httptest.NewRecorder()
	Write(w, r, ledger.TileRef{Level: 0}, data, true)
	if w.Header().Get("Content-Encoding") != "" || w.Header().Get("Cache-Control") != PublicCacheControl || !bytes.Equal(w.Body.Bytes(), data) {
		t.Fatalf("hash tile: headers %v, body %d bytes", w.Header(), w.Body.Len())
	}
}
