package node

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"

	"github.com/creditx/creditx/ledger"
)

// tileCacheControl is the caching of every tile and entry bundle, full or
// partial. C2SP tlog-tiles: "This endpoint is immutable, so its caching
// headers SHOULD be long-lived" — a partial tile's path names its width, so
// its content never changes either (a larger tree has another path).
const tileCacheControl = "public, max-age=31536000, immutable"

// writeTile answers a tile or entry bundle. Entry bundles are compressed
// with gzip when the client accepts it (tlog-tiles: "Entry bundles SHOULD be
// compressed at the HTTP layer [...] any compression algorithm requested by
// the client with Accept-Encoding"); a client that does not ask gets them
// as is. Hash tiles are not compressed (random bytes do not shrink).
func writeTile(w http.ResponseWriter, r *http.Request, ref ledger.TileRef, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", tileCacheControl)
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
