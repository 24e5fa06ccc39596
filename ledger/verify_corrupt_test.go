package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// flipEntryByte flips the last byte of marker (entry 42) in the raw file.
func flipEntryByte(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := bytes.Index(raw, []byte(marker))
	if off < 0 {
		t.Fatal("marker not found")
	}
	raw[off+len(marker)-1] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptEntryRefusedOnRead: one flipped byte inside an entry (not the
// last, which Open checks) is refused by every read that would serve it and
// named by the start-up check, instead of being served.
func TestCorruptEntryRefusedOnRead(t *testing.T) {
	path, k := tamperFixture(t)
	flipEntryByte(t, path)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open checks only the tail; got %v", err)
	}
	defer s.Close()
	l := s.Log(testOrigin)
	if _, err := l.Entry(42); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "entry 42") {
		t.Fatalf("Entry(42) = %v, want ErrDamaged naming entry 42", err)
	}
	if _, err := l.Entry(41); err != nil {
		t.Fatalf("Entry(41) = %v, want the undamaged entry", err)
	}
	if _, err := l.EntryBundle(0, 256); !errors.Is(err, ErrDamaged) {
		t.Fatalf("EntryBundle(0) = %v, want ErrDamaged", err)
	}
	if _, err := l.EntryBundle(1, 256); err != nil {
		t.Fatalf("EntryBundle(1) = %v", err)
	}
	var seen uint64
	err = s.View(func(tx *ReadTx) error {
		return tx.Log(testOrigin).ForEachChecked(40, 50, func(i uint64, _ []byte) error { seen = i; return nil })
	})
	if !errors.Is(err, ErrDamaged) || seen != 41 {
		t.Fatalf("ForEachChecked(40, 50) = %v after entry %d, want ErrDamaged after 41", err, seen)
	}
	_, err = s.CheckLog(t.Context(), testOrigin, k.verifier)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Index != 42 {
		t.Fatalf("CheckLog = %v, want VerifyError at entry 42", err)
	}
	if _, err := VerifyStore(t.Context(), s, testOrigin, k.verifier, nil, nil); !errors.As(err, &ve) || ve.Index != 42 {
		t.Fatalf("VerifyStore = %v, want VerifyError at entry 42", err)
	}
}

// pageOf returns the bbolt page holding marker.
func pageOf(t *testing.T, raw []byte, pageSize int) int {
	t.Helper()
	off := bytes.Index(raw, []byte(marker))
	if off < 0 {
		t.Fatal("marker not found")
	}
	return off / pageSize
}

// TestCorruptPageHeader: a flipped page header (the page type flags of the
// leaf holding entry 42) makes bbolt panic when it reads that page. Every
// check returns a *PageError naming the page instead, and nothing panics.
func TestCorruptPageHeader(t *testing.T) {
	path, k := tamperFixture(t)
	ms, err := ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, bad := ms.Damaged(); bad {
		t.Fatalf("fresh file has a damaged meta page: %+v", ms)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	page := pageOf(t, raw, ps)
	raw[page*ps+8] ^= 0xff // page flags (u16 at offset 8 of the page header)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		var pe *PageError
		if !errors.As(err, &pe) || pe.Page != int64(page) {
			t.Fatalf("Open = %v, want nil or PageError for page %d", err, page)
		}
		t.Logf("Open refused: %v", err)
		return
	}
	defer s.Close()
	var pe *PageError
	if err := s.CheckPages(t.Context()); !errors.As(err, &pe) || pe.Page != int64(page) || !errors.Is(err, ErrDamaged) {
		t.Fatalf("CheckPages = %v, want PageError for page %d", err, page)
	}
	if _, err := s.CheckLog(t.Context(), testOrigin, k.verifier); !errors.As(err, &pe) || pe.Page != int64(page) {
		t.Fatalf("CheckLog = %v, want PageError for page %d", err, page)
	}
	if _, err := VerifyStore(t.Context(), s, testOrigin, k.verifier, nil, nil); !errors.As(err, &pe) || pe.Page != int64(page) {
		t.Fatalf("VerifyStore = %v, want PageError for page %d", err, page)
	}
	if _, err := s.Log(testOrigin).Entry(42); !errors.As(err, &pe) {
		t.Fatalf("Entry(42) = %v, want PageError", err)
	}
}

// corruptNewestMeta damages the meta page bbolt would open path at, keeping
// its txid readable, and returns that txid.
func corruptNewestMeta(t *testing.T, path string) uint64 {
	t.Helper()
	ms, err := ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	newest := ms.OpenTxid
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.LittleEndian.Uint32(raw[boltPageHeader+8:]))
	off := int(newest%2)*ps + boltPageHeader + 16 // the root bucket's page id
	raw[off] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return newest
}

// TestCorruptNewestMetaPage: bbolt silently opens a file whose newest meta
// page is damaged at the previous commit (a rollback). ReadMetaPages names
// the page and the rollback; the opened store is indeed one commit shorter.
func TestCorruptNewestMetaPage(t *testing.T) {
	path, _ := tamperFixture(t)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, testOrigin, 600, 650) // the newest commit: 50 entries
	s.Close()
	newest := corruptNewestMeta(t, path)

	ms, err := ReadMetaPages(path)
	if err != nil {
		t.Fatal(err)
	}
	bad, ok := ms.Damaged()
	if !ok || bad.Page != int(newest%2) || ms.OpenTxid != newest-1 {
		t.Fatalf("meta state %+v, want page %d damaged and open txid %d", ms, newest%2, newest-1)
	}
	err = ms.Error(path)
	var pe *PageError
	if !errors.As(err, &pe) || pe.Page != int64(newest%2) || !strings.Contains(err.Error(), "ROLLED BACK") {
		t.Fatalf("meta error = %v, want a rollback naming meta page %d", err, newest%2)
	}
	// A read-only open leaves the evidence; a writable one commits at open
	// and so overwrites the damaged page (the rollback becomes silent).
	for _, ro := range []bool{true, false} {
		s, err = Open(path, Options{NoSync: true, ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Log(testOrigin).Size(); n != 600 {
			t.Fatalf("opened at size %d, want the rolled-back 600", n)
		}
		if err := s.Update(func(tx *Tx) error { return nil }); ro && err == nil {
			t.Fatal("Update on a read-only store succeeded")
		}
		s.Close()
		ms, err := ReadMetaPages(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, bad := ms.Damaged(); bad != ro {
			t.Fatalf("read-only %v: meta page damaged after open = %v", ro, bad)
		}
	}
}

// TestOpenReadOnlyRefusesNonLedger: a read-only Open cannot create the
// ledger's buckets, so a missing file or a bbolt file that is not a ledger
// is refused, saying so, and nothing is written.
func TestOpenReadOnlyRefusesNonLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if _, err := Open(path, Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only Open of a missing file succeeded")
	}
	db, err := bbolt.Open(path, 0o600, nil) // a valid bbolt file without the ledger's buckets
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "not a ledger file") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("read-only Open of an empty bbolt file = %v, want \"not a ledger file\"", err)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("read-only Open changed the file (read error %v)", err)
	}
}

// TestOpenPopulate: a store opened with Populate (the whole file mapped in
// at open, as verify opens it) passes the page check and verifies as any
// other, and the file is left as it was.
func TestOpenPopulate(t *testing.T) {
	const origin = "example.com/populate"
	path := filepath.Join(t.TempDir(), "ledger.db")
	w, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(t, origin)
	appendN(t, w, origin, 0, 700)
	checkpointNow(t, w, origin, k)
	w.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{ReadOnly: true, Populate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckPages(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cp, err := VerifyStore(context.Background(), s, origin, k.verifier, nil, nil); err != nil || cp == nil || cp.Size != 700 {
		t.Fatalf("VerifyStore of a populated store: %v, %v", cp, err)
	}
	s.Close()
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("a read-only populated Open changed the file (read error %v)", err)
	}
}
