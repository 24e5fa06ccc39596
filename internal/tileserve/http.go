// Package tileserve is the HTTP side of serving C2SP tlog-tiles: the
// caching headers of tiles and entry bundles, gzip negotiation for entry
// bundles, and a cache of what serving a bundle costs to compute (its
// privacy scan, package disclose, and its gzip encoding), keyed by the
// bundle's bytes. Serve reads a tile in the read transaction package node
// gives it; the node decides who may receive a non-public bundle
// (node/privacy.go, passed in as a Gate).
//
// Guarantees: a tile's answer depends only on its bytes, the public flag
// and the request's Accept-Encoding, so it may be cached for a year (a
// partial tile's path names its width); a non-public bundle is marked
// private so that no shared cache keeps it. The cache holds at most
// BundleCacheMax bundles and is safe for concurrent use. Nothing here
// fails: a write error is the connection's, seen by the server.
package tileserve

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"

	"github.com/creditx/creditx/ledger"
)

// PublicCacheControl is the caching of every hash tile and public entry
// bundle, full or partial. C2SP tlog-tiles: "This endpoint is immutable, so
// its caching headers SHOULD be long-lived" — a partial tile's path names its
// width, so its content never changes either (a larger tree has another
// path). An entry bundle holding non-public records (served only to
// credentials, see node/privacy.go) is as long-lived but private: no shared cache
// may keep it.
const (
	PublicCacheControl  = "public, max-age=31536000, immutable"
	PrivateCacheControl = "private, max-age=31536000, immutable"
)

// Write answers a tile or entry bundle. Entry bundles are compressed
// with gzip when the client accepts it (tlog-tiles: "Entry bundles SHOULD be
// compressed at the HTTP layer [...] any compression algorithm requested by
// the client with Accept-Encoding"); a client that does not ask gets them
// as is. Hash tiles are not compressed (random bytes do not shrink).
func Write(w http.ResponseWriter, r *http.Request, ref ledger.TileRef, data []byte, public bool) {
	WriteGz(w, r, ref, data, public, nil)
}

// WriteGz is Write with the gzip encoding of data from gz (nil:
// compressed here).
func WriteGz(w http.ResponseWriter, r *http.Request, ref ledger.TileRef, data []byte, public bool, gz func() []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if public {
		h.Set("Cache-Control", PublicCacheControl)
	} else {
		h.Set("Cache-Control", PrivateCacheControl)
	}
	if ref.Level >= 0 {
		w.Write(data)
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !AcceptsGzip(r.Header.Get("Accept-Encoding")) {
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

// AcceptsGzip reports whether an Accept-Encoding header value admits gzip:
// a "gzip" (or "*") coding whose q value, if any, is not zero.
func AcceptsGzip(v string) bool {
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
