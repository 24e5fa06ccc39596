package tileserve

import (
	"errors"
	"net/http"

	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
)

// Gate decides whether the caller of r may receive an entry bundle of
// non-public records naming persons (maybe none); when it may not, it has
// answered (401/403/429) and returns false.
type Gate func(persons []string) bool

// Serve answers the hash tile or entry bundle at path ("tile/...") of the
// log origin, read in one view transaction. A malformed path is 400
// (httpx.TilePathError); a failed read goes to readErr, which answers it.
// Hash tiles are public; an entry bundle is public only if all its
// entries are (scanned and compressed once per bundle through cache),
// otherwise gate decides.
func Serve(w http.ResponseWriter, r *http.Request, cache *BundleCache, view func(func(*ledger.ReadTx) error) error,
	origin, path string, gate Gate, readErr func(error)) {
	ref, err := ledger.ParseTilePath(path)
	if err != nil {
		httpx.WriteErr(w, httpx.TilePathError(path, err))
		return
	}
	var data []byte
	err = view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(origin)
		var err error
		if ref.Level < 0 {
			data, err = lr.EntryBundle(ref.N, ref.Width)
		} else {
			data, err = lr.Tile(ref.Level, ref.N, ref.Width)
		}
		return err
	})
	if err != nil {
		readErr(err)
		return
	}
	if ref.Level >= 0 {
		Write(w, r, ref, data, true)
		return
	}
	bi := cache.Scan(data)
	if !bi.Public && !gate(bi.Persons) {
		return
	}
	WriteGz(w, r, ref, data, bi.Public, func() []byte { return cache.Gzipped(bi, data, BundleLevel(ref.Width)) })
}

// WriteCheckpoint answers a log's signed checkpoint cp, read with err:
// 404 before the first checkpoint (ledger.ErrNoCheckpoint), 500 on any
// other error, otherwise the note as text, never cached (a checkpoint is
// the one tlog-tiles resource that changes).
func WriteCheckpoint(w http.ResponseWriter, cp []byte, err error) {
	if errors.Is(err, ledger.ErrNoCheckpoint) {
		http.Error(w, "no checkpoint yet", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(cp)
}
