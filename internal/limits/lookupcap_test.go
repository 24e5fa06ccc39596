package limits

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditx/creditx/pki"
	"go.etcd.io/bbolt"
)

// TestChargeLookups: counts add up per identity and day across the charges
// of one command and across commands; the charge that would pass the cap
// refuses the command whole; malformed charges are not counted.
func TestChargeLookups(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "l.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const a, b = "execute|330000|A", "execute|330000|B"
	const d1, d2 = "2026-03-01", "2026-03-02"
	ch := func(key, day string, n int) *LookupCharge { return &LookupCharge{Key: key, Day: day, N: n, Cap: 10} }
	steps := []struct {
		name    string
		charges []*LookupCharge
		want    map[string]int // counts written; nil: refused
		used    int            // of the refusal
	}{
		{"two of A and one of B", []*LookupCharge{ch(a, d1, 4), ch(a, d1, 3), ch(b, d1, 1)}, map[string]int{a + "\x00" + d1: 7, b + "\x00" + d1: 1}, 0},
		{"A passes the cap inside one command", []*LookupCharge{ch(a, d1, 2), ch(a, d1, 2)}, nil, 9},
		{"A up to the cap exactly", []*LookupCharge{ch(a, d1, 3)}, map[string]int{a + "\x00" + d1: 10}, 0},
		{"A's next day is fresh", []*LookupCharge{ch(a, d2, 10)}, map[string]int{a + "\x00" + d2: 10}, 0},
		{"malformed and nil charges are free", []*LookupCharge{nil, ch("", d1, 5), ch(b, "2026-13-01", 5), ch(b, d1, 0), ch("x\x00y", d1, 1)}, map[string]int{}, 0},
		{"A spent", []*LookupCharge{ch(a, d1, 1)}, nil, 10},
	}
	for _, s := range steps {
		if err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte(BucketLookups))
			if err != nil {
				return err
			}
			got, err := ChargeLookups(bk, s.charges)
			var lc *LookupCapError
			switch {
			case s.want == nil && (!errors.As(err, &lc) || lc.Used != s.used || lc.Cap != 10):
				t.Errorf("%s: %v; want a LookupCapError with %d used", s.name, err, s.used)
			case s.want != nil && err != nil:
				t.Errorf("%s: %v", s.name, err)
			case s.want != nil && len(got) != len(s.want):
				t.Errorf("%s: counts %v, want %v", s.name, got, s.want)
			}
			for k, v := range s.want {
				if got[k] != v {
					t.Errorf("%s: count %q = %d, want %d", s.name, k, got[k], v)
				}
			}
			return PutLookupCounts(bk, got)
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.View(func(tx *bbolt.Tx) error {
		if n := LookupsUsed(tx.Bucket([]byte(BucketLookups)), a, d1); n != 10 {
			t.Errorf("A used %d on %s, want 10", n, d1)
		}
		return nil
	})
}

// TestLookupDay: the cap's day turns at 16:00 UTC (midnight UTC+8), and a
// refusal's Reset is that moment.
func TestLookupDay(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), "2026-03-01"},
		{time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC), "2026-03-02"},
	} {
		if got := LookupDay(c.at); got != c.want {
			t.Errorf("LookupDay(%v) = %s, want %s", c.at, got, c.want)
		}
	}
	if r := (&LookupCapError{Day: "2026-03-01"}).Reset(); !r.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Reset = %v", r)
	}
	if k := LookupIdentity(pki.Identity{Role: pki.RoleExecute, Region: "330000", ID: "X"}); k != "execute|330000|X" {
		t.Errorf("LookupIdentity = %q", k)
	}
}
