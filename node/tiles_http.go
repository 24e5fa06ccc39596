package node

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"

	"github.com/creditx/creditx/ledger"
)

// tileCacheControl is the caching of every hash tile and public entry
// bundle, full or partial. C2SP tlog-tiles: "This endpoint is immutable, so
// its caching headers SHOULD be long-lived" — a partial tile's path names its
// width, so its content never changes either (a larger tree has another
// path). An entry bundle holding non-public records (served only to
// credentials, see gateBundle) is as long-lived but private: no shared cache
// may keep it.
const (
	tileCacheControl    = "public, max-age=31536000, immutable"
	privateCacheControl = "private, max-age=31536000, immutable"
)

// writeTile answers a tile or entry bundle. Entry bundles are compressed
// with gzip when the client accepts it (tlog-tiles: "Entry bundles SHOULD be
// compressed at the HTTP layer [...] any compression algorithm requested by
// the client with Accept-Encoding"); a client that does not ask gets them
// as is. Hash tiles are not compressed (random bytes do not shrink).
func writeTile(w http.ResponseWriter, r *http.Request, ref ledger.TileRef, data []byte, public bool) {
	writeTileGz(w, r, ref, data, public, nil)
}

// writeTileGz is writeTile with the gzip encoding of data from gz (nil:
// compressed here).
func writeTileGz(w http.ResponseWriter, r *http.Request, ref ledger.TileRef, data []byte, public bool, gz func() []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if public {
		h.Set("Cache-Control", tileCacheControl)
	} else {
		h.Set("Cache-Control", privateCacheControl)
	}
	if ref.Level >= 0 {
		w.Write(data)
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Write(data)
		return
	}
	h.Set("Content-Encoding", "gzip")
	if gz != nil {
		w.Write(gz())
		return
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	zw.Write(data)
	zw.Close()
}

// acceptsGzip reports whether an Accept-Encoding header value admits gzip:
// a "gzip" (or "*") coding whose q value, if any, is not zero.
func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q=")
		if !ok {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
