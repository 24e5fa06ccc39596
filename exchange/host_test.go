package exchange

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fakeHost is a region replica reduced to what the runtime needs: one
// ledger.Store, leadership as a flag, and Propose applying the op table in
// one transaction of that store, as the node's FSM does. It is the real
// store and the real apply functions; only raft is left out.
type fakeHost struct {
	store   *ledger.Store
	leader  bool
	viewErr error                    // set: every View fails with it
	peers   map[string]note.Verifier // Store.Peer
	signers map[string]note.Verifier // Store.Signer
	indexed map[string]uint64        // origin -> entries passed to IndexMirrored
}

func newFakeHost(t testing.TB) *fakeHost {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &fakeHost{store: s, leader: true, peers: map[string]note.Verifier{}, signers: map[string]note.Verifier{}, indexed: map[string]uint64{}}
}

func (h *fakeHost) View(fn func(tx *ledger.ReadTx) error) error {
	if h.viewErr != nil {
		return h.viewErr
	}
	return h.store.View(fn)
}

func (h *fakeHost) IsLeader() bool { return h.leader }

func (h *fakeHost) Propose(_ context.Context, c Command) (Result, error) {
	apply, ok := Apply(c.Op)
	if !ok {
		return Result{}, ErrUnknownOp
	}
	var res Result
	err := h.store.Update(func(tx *ledger.Tx) error {
		var err error
		res, err = apply(tx, fakeStore{h}, c)
		return err
	})
	return res, err
}

// fakeStore is the FSM side of fakeHost.
type fakeStore struct{ h *fakeHost }

func (s fakeStore) Peer(_ *ledger.Tx, origin string) (note.Verifier, bool) {
	v, ok := s.h.peers[origin]
	return v, ok
}

func (s fakeStore) Signer(origin string) (note.Verifier, bool) {
	v, ok := s.h.signers[origin]
	return v, ok
}

func (s fakeStore) IndexMirrored(_ *ledger.Tx, origin string, _ uint64, entries [][]byte, _ []tlog.Hash) error {
	s.h.indexed[origin] += uint64(len(entries))
	return nil
}

// TestReadErrorsAreNotDropped: with every read of the host failing, the
// runtime's readers report the error instead of going on with zero values
// (a mirror not stopped, an equivocation not checked), and the membership
// cache answers no member, or the last set it computed.
func TestReadErrorsAreNotDropped(t *testing.T) {
	h := newFakeHost(t)
	h.viewErr = errors.New("disk gone")
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stopped, err := x.mirrorStopped("creditx.310000/ledger"); err == nil {
		t.Errorf("mirrorStopped on a failing store = %v, nil; want the read error", stopped)
	}
	cp := &ledger.Checkpoint{Origin: "creditx.310000/ledger", Size: 1}
	if bad, err := x.checkEquivocation(cp); err == nil {
		t.Errorf("checkEquivocation on a failing store = %v, nil; want the read error", bad)
	}
	if eff := x.effective(); eff == nil || len(eff) != 0 {
		t.Errorf("effective on a failing store with no cache = %v; want no member", eff)
	}
	x.eff = map[string]bool{"310000": true}
	if eff := x.effective(); !eff["310000"] {
		t.Errorf("effective on a failing store with a cache = %v; want the last known set", eff)
	}
}
