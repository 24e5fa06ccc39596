package changes

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// TestPageListedThenExpired: a listing indexed with a publicity_end gives
// its "listed" change at once and its expiry only from the day after
// publicity_end (China time); the positions returned skip what was read,
// and a limit of one leaves more.
func TestPageListedThenExpired(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ek := exchange.EntryKey("creditx.330000/ledger", 4)
	l := &schemas.Listing{PublicityEnd: schemas.NewDate(2026, 12, 6)}
	if err := s.Update(func(tx *ledger.Tx) error { return Index(tx, "creditx.330000/ledger", ek, "listing", l, false) }); err != nil {
		t.Fatal(err)
	}
	state := "active"
	item := func(kind, lo string, li uint64, co string, ci uint64) (api.Change, bool) {
		if lo != "creditx.330000/ledger" || li != 4 || ci != 4 {
			t.Errorf("item(%s, %s#%d, %s#%d): wrong entry", kind, lo, li, co, ci)
		}
		return api.Change{Change: kind, State: state}, true
	}
	page := func(from []uint64, limit int, at time.Time) (out []api.Change, more bool, next []uint64) {
		err := s.View(func(tx *ledger.ReadTx) error { out, more, next = Page(tx, from, limit, at, item); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	// 23:59 on publicity_end, China time: not expired yet.
	out, more, next := page([]uint64{0, 0, 0}, 10, time.Date(2026, 12, 6, 15, 59, 0, 0, time.UTC))
	if len(out) != 1 || out[0].Change != Listed || more {
		t.Fatalf("on the last day: %+v more %v; want the listed change only", out, more)
	}
	state = Expired
	at := time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC) // midnight China time
	if out, more, _ := page([]uint64{0, 0, 0}, 1, at); len(out) != 1 || !more {
		t.Fatalf("limit 1 from the start: %+v more %v; want one change and more", out, more)
	}
	out, more, next = page(next, 10, at)
	if len(out) != 1 || out[0].Change != Expired || more {
		t.Fatalf("from the positions after listed: %+v more %v; want the expiry only", out, more)
	}
	if out, _, _ := page(next, 10, at.Add(48*time.Hour)); len(out) != 0 {
		t.Fatalf("after the expiry: %+v; want nothing twice", out)
	}
	if got := NextMidnight(at.Add(-time.Minute)); !got.Equal(at) {
		t.Fatalf("NextMidnight = %v, want %v", got, at)
	}
}
