package node

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
	"golang.org/x/mod/sumdb/note"
)

// TestReadErrorsAreNotDropped closes a replica's ledger.db under it, so
// every read fails, and checks that each reader that used to drop the error
// of fsm.view now reports it instead of going on with zero values: a
// reference check that passed, a batch admitted at index 0, a vault key
// ratcheted to epoch 0, a dev seed written twice, a listing admitted without
// its catalogue, a lookup allowed without counting.
func TestReadErrorsAreNotDropped(t *testing.T) {
	s, v, key := zhejiangKeys(t)
	n := calendarReplica(t, filepath.Join(t.TempDir(), "ledger.db"), s, v)
	clock := time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC)
	le, err := schemas.Sign(zjEnvListing(t, 1, clock), key)
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, n.fsm, ownAppend(t, 1, clock, le))
	ref := schemas.Ref{Origin: n.origin, Index: 0, Hash: strings.Repeat("0", 64)}
	if msg, err := n.admitter().CheckRef(ref); err != nil || !strings.Contains(msg, "has hash") {
		t.Fatalf("CheckRef on an open store = %q, %v; want a hash mismatch", msg, err)
	}

	if err := n.fsm.store.Close(); err != nil {
		t.Fatal(err)
	}
	if msg, err := n.admitter().CheckRef(ref); err == nil {
		t.Errorf("CheckRef on a closed store = %q, nil; want the read error", msg)
	}
	id := pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency}
	if ae := n.admitBatch(id, [][]byte{le}); ae == nil || ae.Status != http.StatusInternalServerError {
		t.Errorf("admitBatch on a closed store = %+v; want 500", ae)
	}
	if field, msg := n.checkCalendarAdopt(&schemas.CalendarAdopt{}); field == "" || !strings.Contains(msg, "could not be read") {
		t.Errorf("checkCalendarAdopt on a closed store = %q, %q", field, msg)
	}
	vk := filepath.Join(t.TempDir(), "vault.key")
	if err := os.WriteFile(vk, []byte(strings.Repeat("00", vault.KeyLen)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n.vault, err = vault.LoadRing(vk); err != nil {
		t.Fatal(err)
	}
	if err := n.syncVaultEpoch(); err == nil {
		t.Error("syncVaultEpoch on a closed store: nil; want the read error (not a ratchet to epoch 0)")
	}
	if err := n.SeedDev(t.Context(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "seeding") {
		t.Errorf("SeedDev on a closed store: %v; want the read error", err)
	}
	if out := n.admitter().Loop(0, zjEnvListing(t, 2, clock), id); len(out) != 1 || out[0].Status != http.StatusInternalServerError || out[0].Rule != "read" {
		t.Errorf("Loop of a listing on a closed store = %+v; want one 500 read error (the catalogue in force)", out)
	}
	w := httptest.NewRecorder()
	if n.allowLookups(w, pki.Identity{Role: pki.RoleExecute, Region: "330000", ID: "x"}, 1) || w.Code != http.StatusInternalServerError {
		t.Errorf("allowLookups on a closed store answered %d and allowed; want refused with 500 (the count could not be read)", w.Code)
	}
	// The exchange runtime's readers: exchange.TestReadErrorsAreNotDropped (a fake host).
}

// TestRestore installs a snapshot into a replica whose Restored hook reads the
// new store (it used to run with f.mu re-locked inside a deferred unlock),
// and checks that a snapshot that fails to arrive leaves the old store open
// and unchanged.
func TestRestore(t *testing.T) {
	s, v, key := zhejiangKeys(t)
	dir := t.TempDir()
	a := calendarReplica(t, filepath.Join(dir, "a.db"), s, v)
	b := calendarReplica(t, filepath.Join(dir, "b.db"), s, v)
	clock := time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC)
	for i := uint64(1); i <= 2; i++ {
		le, err := schemas.Sign(zjEnvListing(t, i, clock), key)
		if err != nil {
			t.Fatal(err)
		}
		applyAll(t, a.fsm, ownAppend(t, i, clock, le))
		if i == 1 {
			applyAll(t, b.fsm, ownAppend(t, i, clock, le))
		}
	}
	size := func(f *fsm) uint64 {
		t.Helper()
		var n uint64
		if err := f.view(func(tx *ledger.ReadTx) error { n = tx.Log(a.origin).Size(); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}

	bad := io.NopCloser(io.MultiReader(strings.NewReader("partial"), errReader{}))
	if err := b.fsm.Restore(bad); err == nil || !strings.Contains(err.Error(), "receiving snapshot") {
		t.Fatalf("Restore of a broken stream: %v", err)
	}
	if got := size(b.fsm); got != 1 {
		t.Fatalf("after a failed restore the store holds %d entries, want the old 1", got)
	}

	snap, err := a.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := snap.(*fsmSnapshot).s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	var seen uint64
	b.fsm.host = restoreHook(func() error { seen = size(b.fsm); return nil })
	if err := b.fsm.Restore(io.NopCloser(&buf)); err != nil {
		t.Fatal(err)
	}
	if seen != 2 || size(b.fsm) != 2 {
		t.Fatalf("after restore: Restored saw %d entries, store holds %d; want 2 and 2", seen, size(b.fsm))
	}
	b.fsm.host = restoreHook(func() error { return errors.New("keyring") })
	snap, _ = a.fsm.Snapshot()
	buf.Reset()
	snap.(*fsmSnapshot).s.WriteTo(&buf)
	snap.Release()
	if err := b.fsm.Restore(io.NopCloser(&buf)); err == nil || err.Error() != "keyring" {
		t.Fatalf("Restore with a failing Restored hook: %v", err)
	}
	if got := size(b.fsm); got != 2 { // and f.mu is free: view did not block
		t.Fatalf("after Restored failed the store holds %d entries, want 2", got)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestHistoryReadErrors damages a listing's stored bytes and checks that its
// history, the history walk's check and its state report the damage instead
// of skipping the listing (a check that skipped it would answer "allowed").
// The subject check proper answers from the check index, whose value names
// the leaf hash the tree holds (checked against hash tile 0, not the entry:
// stop 32, issue 21): it still finds the listing and answers as before the
// damage, never "allowed"; the damaged entry is reported by every read of
// the entry (history, export, the start-up scan, verify).
func TestHistoryReadErrors(t *testing.T) {
	s, v, key := zhejiangKeys(t)
	path := filepath.Join(t.TempDir(), "ledger.db")
	n := calendarReplica(t, path, s, v)
	clock := time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC)
	l := zjEnvListing(t, 1, clock)
	le, err := schemas.Sign(l, key)
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, n.fsm, ownAppend(t, 1, clock, le))
	histories := func() ([]sanctions.ListingHistory, error) {
		var hs []sanctions.ListingHistory
		err := n.fsm.view(func(tx *ledger.ReadTx) error {
			var err error
			hs, err = n.subjectHistories(tx, l.Subject.USCC)
			return err
		})
		return hs, err
	}
	if hs, err := histories(); err != nil || len(hs) != 1 {
		t.Fatalf("before damage: %d histories, %v; want 1", len(hs), err)
	}
	before, err := n.check(l.Subject.USCC, "", clock)
	if err != nil || before.Result != "restricted" || len(before.Listings) != 1 {
		t.Fatalf("check before damage: %+v, %v; want restricted with 1 listing", before, err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	damaged := 0
	for off := 0; ; {
		i := bytes.Index(raw[off:], le)
		if i < 0 {
			break
		}
		at := off + i + len(le)/2
		if _, err := f.WriteAt([]byte{raw[at] ^ 0x01}, int64(at)); err != nil {
			t.Fatal(err)
		}
		damaged++
		off += i + len(le)
	}
	if damaged == 0 {
		t.Fatal("the listing's bytes are not in ledger.db")
	}

	if hs, err := histories(); !errors.Is(err, ledger.ErrDamaged) {
		t.Errorf("subjectHistories of a damaged listing = %d histories, %v; want ErrDamaged", len(hs), err)
	}
	if _, err := n.checkFrom(n.subjectHistories, l.Subject.USCC, "", clock); !errors.Is(err, ledger.ErrDamaged) {
		t.Errorf("history walk's check of a subject with a damaged listing: %v; want ErrDamaged", err)
	}
	if got, err := n.check(l.Subject.USCC, "", clock); err != nil || got.Result != before.Result || len(got.Listings) != 1 {
		t.Errorf("check (index) of a subject with a damaged listing entry: %+v, %v; want %s with the listing, as before the damage", got, err, before.Result)
	}
	n.fsm.view(func(tx *ledger.ReadTx) error {
		if _, err := history(tx, n.origin, 0, l); !errors.Is(err, ledger.ErrDamaged) {
			t.Errorf("history of a damaged listing: %v; want ErrDamaged", err)
		}
		if st := n.listingState(tx, n.origin, 0, l, clock); st.State != "unknown" {
			t.Errorf("state of a damaged listing = %q; want unknown", st.State)
		}
		return nil
	})
}

// restoreHook is an fsmHost whose only hook is Restored.
type restoreHook func() error

func (h restoreHook) CheckEntry(string, uint64, []byte) error       { return nil }
func (h restoreHook) Peer(*ledger.Tx, string) (note.Verifier, bool) { return nil, false }
func (h restoreHook) Accepts(*ledger.Tx, string) (bool, error)      { return true, nil }
func (h restoreHook) Applied(map[string]uint64)                     {}
func (h restoreHook) Restored() error                               { return h() }
