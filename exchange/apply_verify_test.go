package exchange

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// countingVerifier counts the signatures it checks.
type countingVerifier struct {
	note.Verifier
	n *int
}

func (v countingVerifier) Verify(msg, sig []byte) bool {
	*v.n++
	return v.Verifier.Verify(msg, sig)
}

// TestMirrorAppendVerifiesCheckpointOnce: op 2 reaching the checkpoint's
// size checks the origin's signature once (it was checked twice: before the
// append and again when storing the checkpoint, issue 20), still stores the
// checkpoint, and a command whose checkpoint another key signed is refused
// with nothing written.
func TestMirrorAppendVerifiesCheckpointOnce(t *testing.T) {
	fx := newFaultFixture(t)
	h := newFakeHost(t)
	var checks int
	h.peers[fx.origin] = countingVerifier{fx.logV, &checks}
	var entries [][]byte
	if err := fx.src.View(func(tx *ledger.ReadTx) error {
		for i := range uint64(10) {
			e, err := tx.Log(fx.origin).Entry(i)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sk, _, err := ledger.GenerateKey(fx.origin, rand.Reader) // the origin's name, another key
	if err != nil {
		t.Fatal(err)
	}
	other, err := note.NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := ledger.SignCheckpoint(other, fx.origin, 10, mustRoot(t, fx, 10))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Propose(t.Context(), Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: forged, Entries: entries})
	if err != nil || res.Refused == nil {
		t.Fatalf("mirror append with a checkpoint signed by another key: %+v, %v; want refused", res, err)
	}
	if n, err := h.store.Log(fx.origin).Size(); err != nil || n != 0 {
		t.Fatal("a refused mirror append wrote entries")
	}
	checks = 0
	cp := fx.checkpoint(t, 10)
	res, err = h.Propose(t.Context(), Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: cp, Entries: entries})
	if err != nil || res.Refused != nil {
		t.Fatalf("mirror append: %+v, %v", res, err)
	}
	if checks != 1 {
		t.Errorf("the origin's signature was checked %d times, want 1", checks)
	}
	if got, err := h.store.Log(fx.origin).Checkpoint(); err != nil || !bytes.Equal(got, cp) {
		t.Errorf("stored checkpoint = %q, %v; want the mirrored one", got, err)
	}
}

func mustRoot(t *testing.T, fx *faultFixture, size uint64) tlog.Hash {
	t.Helper()
	root, err := fx.src.Log(fx.origin).TreeHash(size)
	if err != nil {
		t.Fatal(err)
	}
	return root
}
