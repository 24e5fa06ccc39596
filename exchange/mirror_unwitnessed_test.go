package exchange

import (
	"context"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestStoredUnwitnessed: a mirror synced to a checkpoint without the
// witness quorum (the one this member's witness cosigned, stored when the
// origin's witnessed one could not be fetched) is seen as such, so the
// mirror loop looks again within seconds instead of at the 5-minute
// in-sync re-check (a 45-member run stalled there: the watch loop had
// passed that size and did not kick the mirror again); once the same size
// is stored with the quorum it is not.
func TestStoredUnwitnessed(t *testing.T) {
	fx := newFaultFixture(t)
	x, h := fx.runtime(t, nil)
	mb, _ := fx.m.Member("310000")
	if x.storedUnwitnessed(mb) {
		t.Fatal("an empty mirror counted as storing an unwitnessed checkpoint")
	}
	cp := fx.checkpoint(t, 10)
	var entries [][]byte
	for i := range uint64(10) {
		e, err := fx.src.Log(fx.origin).Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	ctx := context.Background()
	if res, err := h.Propose(ctx, Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: cp, First: 0, Entries: entries}); err != nil || res.Refused != nil {
		t.Fatalf("mirror append: %v %v", err, res.Refused)
	}
	if !x.storedUnwitnessed(mb) {
		t.Fatal("a mirror at a checkpoint with the log's signature only is not seen as unwitnessed")
	}
	n, err := note.Open(cp, note.VerifierList(fx.logV))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := fx.witness.Cosign(n)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h.Propose(ctx, Command{Op: OpMirrorAppend, Origin: fx.origin, Checkpoint: AddSignatures(cp, lines), First: 10}); err != nil || res.Refused != nil {
		t.Fatalf("storing the cosigned checkpoint: %v %v", err, res.Refused)
	}
	if x.storedUnwitnessed(mb) {
		t.Fatal("a mirror at a checkpoint with the quorum is seen as unwitnessed")
	}
}
