package exchange

import (
	"fmt"
	"testing"

	"github.com/creditx/creditx/ledger"
)

// TestRekickWakesAMirrorLeftBehind: after a long-poll round with nothing
// new, a mirror holding less than the watcher has seen is handed the last
// served checkpoint again and woken (a lost wake-up costs one round, not
// the 5-minute in-sync re-check); a mirror that holds it, or a watcher that
// has seen nothing, wakes nobody.
func TestRekickWakesAMirrorLeftBehind(t *testing.T) {
	h := newFakeHost(t)
	x, err := NewOffline(testManifest(t, "310000", "330000"), "310000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, ok := x.m().Member("330000")
	if !ok {
		t.Fatal("no member 330000")
	}
	origin := mb.Origin()
	k := make(chan struct{}, 1)
	x.kick[origin] = k
	holds := func(n int) {
		t.Helper()
		fr := NewFrontier()
		for i := range n {
			fr.AppendEntry([]byte(fmt.Sprintf("entry %d", i)))
		}
		if err := h.store.Update(func(tx *ledger.Tx) error {
			b, err := tx.Bucket(BucketMirror)
			if err != nil {
				return err
			}
			return b.Put([]byte(origin), fr.Encode())
		}); err != nil {
			t.Fatal(err)
		}
	}
	woken := func() bool {
		select {
		case <-k:
			return true
		default:
			return false
		}
	}
	served := []byte(origin + "\n5\nroot\n")

	holds(2)
	if x.rekick(origin, 0, nil) || woken() {
		t.Error("woken before the watcher saw anything")
	}
	if !x.rekick(origin, 5, served) || !woken() {
		t.Fatal("mirror at 2 of 5 seen not woken")
	}
	if got := x.takeServed(origin); string(got) != string(served) {
		t.Errorf("served handed over = %q; want the last answer %q", got, served)
	}
	if n := x.Work().Rekicks; n != 1 {
		t.Errorf("Rekicks = %d; want 1", n)
	}
	holds(5)
	if x.rekick(origin, 5, served) || woken() {
		t.Error("mirror holding all it was shown woken again")
	}
	if n := x.Work().Rekicks; n != 1 {
		t.Errorf("Rekicks = %d after a mirror in sync; want still 1", n)
	}
}
