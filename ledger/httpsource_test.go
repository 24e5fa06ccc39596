package ledger

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestHTTPSource serves an exported tree over real HTTP and reads it back
// through HTTPSource: the checkpoint, every entry across a partial bundle,
// authenticated hashes through the caching TileReader, and the errors.
func TestHTTPSource(t *testing.T) {
	s := openTest(t)
	k := newKeys(t, testOrigin)
	const n = 600 // two full bundles and a partial one
	appendN(t, s, testOrigin, 0, n)
	signed := checkpointNow(t, s, testOrigin, k)
	dir := t.TempDir()
	if err := Export(context.Background(), s.Log(testOrigin), dir, k.vkey); err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int64
	fs := http.StripPrefix("/ledger/330000", http.FileServer(http.Dir(dir)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.URL.Path == "/ledger/330000/tile/entries/001" {
			w.Write([]byte{0, 5, 'x'}) // a truncated bundle
			return
		}
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := HTTPSource{Base: srv.URL + "/ledger/330000/", Client: srv.Client()}

	b, err := src.Checkpoint()
	if err != nil || !bytes.Equal(b, signed) {
		t.Fatalf("Checkpoint = %q, %v; want the signed checkpoint", b, err)
	}
	es, err := src.Entries(520, n)
	if err != nil || len(es) != n-520 {
		t.Fatalf("Entries(520, %d) = %d entries, %v", n, len(es), err)
	}
	for i, e := range es {
		if !bytes.Equal(e, testEntry(uint64(520+i))) {
			t.Fatalf("entry %d = %q, want %q", 520+i, e, testEntry(uint64(520+i)))
		}
	}
	if _, err := src.Entries(300, 512); err == nil || !strings.Contains(err.Error(), "entry bundle 1") {
		t.Errorf("Entries over a truncated bundle: %v, want an error naming bundle 1", err)
	}
	if _, err := src.ReadTile(0, 9, 256); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadTile of a missing tile: %v, want ErrNotFound", err)
	}

	cp, err := OpenCheckpoint(signed, testOrigin, k.verifier)
	if err != nil {
		t.Fatal(err)
	}
	thr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, src.TileReader())
	idx := []int64{tlog.StoredHashIndex(0, 0), tlog.StoredHashIndex(0, 599)}
	hs, err := thr.ReadHashes(idx)
	if err != nil || hs[0] != tlog.RecordHash(testEntry(0)) || hs[1] != tlog.RecordHash(testEntry(599)) {
		t.Fatalf("ReadHashes = %v, %v", hs, err)
	}
	before := gets.Load()
	if _, err := thr.ReadHashes(idx); err != nil || gets.Load() != before {
		t.Errorf("reading the same hashes again: %v, %d more GETs, want 0 (cached)", err, gets.Load()-before)
	}

	// Get replaces Client, and a non-200 answer names its status.
	src = HTTPSource{Base: "/ledger/330000", Get: func(ctx context.Context, url string) (int, []byte, error) {
		if url != "/ledger/330000/checkpoint" {
			t.Errorf("Get(%q)", url)
		}
		return http.StatusBadGateway, []byte("down"), nil
	}}
	if _, err := src.Checkpoint(); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("Checkpoint on a 502: %v", err)
	}
	src.Get = func(context.Context, string) (int, []byte, error) {
		return http.StatusOK, make([]byte, MaxTileResource+1), nil
	}
	if _, err := src.Checkpoint(); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("an oversized answer: %v", err)
	}
}

// TestEntriesDoNotCopy: Entries returns slices of the bundles Get answered
// (each capped at its entry, so an append copies), not a copy of every
// entry: with 45 members every entry is fetched by 44 mirrors (issue 20).
func TestEntriesDoNotCopy(t *testing.T) {
	var entries [][]byte
	for i := range 100 {
		entries = append(entries, testEntry(uint64(i)))
	}
	bundle, err := MarshalEntryBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	src := HTTPSource{Get: func(ctx context.Context, url string) (int, []byte, error) {
		return http.StatusOK, bundle, nil
	}}
	es, err := src.Entries(40, 100)
	if err != nil || len(es) != 60 {
		t.Fatalf("Entries(40, 100) = %d entries, %v", len(es), err)
	}
	for i, e := range es {
		if !bytes.Equal(e, entries[40+i]) || cap(e) != len(e) {
			t.Fatalf("entry %d = %q (cap %d), want %q capped", 40+i, e, cap(e), entries[40+i])
		}
	}
	// The bundle parsed (its entry list growing) and one list of 60: far
	// fewer allocations than the 60 entries.
	if n := testing.AllocsPerRun(10, func() { src.Entries(40, 100) }); n > 12 {
		t.Errorf("Entries(40, 100) from one bundle: %.0f allocations, want at most 12 (no copy per entry)", n)
	}
}
