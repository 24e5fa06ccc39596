package adopted

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions/workdays"
)

func openStore(t *testing.T) *ledger.Store {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCalendarAdoptRefusesNonRecord: an entry that is not a calendar_adopt
// record is recorded as refused (listed by CalendarStateIn), not applied,
// and the transaction does not fail.
func TestCalendarAdoptRefusesNonRecord(t *testing.T) {
	s := openStore(t)
	base, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	d := Deadlines{Cache: &CalendarCache{}, Base: base, Now: time.Unix(100, 0)}
	if err := s.Update(func(tx *ledger.Tx) error {
		return d.ApplyCalendarAdopt(tx, "creditx.330000/ledger", 7, []byte("not a signed entry"))
	}); err != nil {
		t.Fatalf("ApplyCalendarAdopt returned %v; a data problem must be recorded, not returned", err)
	}
	err = s.View(func(tx *ledger.ReadTx) error {
		k := append([]byte{CalendarRefusalKeyPrefix}, exchange.EntryKey("creditx.330000/ledger", 7)...)
		if tx.Bucket(BucketCalendars).Get(k) == nil {
			t.Error("no refusal recorded under the entry's key")
		}
		st, err := CalendarStateIn(tx, d.Cache, base)
		if err != nil {
			return err
		}
		if len(st.Adopted) != 0 || len(st.Refused) != 1 || st.Covered != base.Covered() {
			t.Errorf("state = %+v; want nothing adopted, one refusal, the embedded coverage", st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCalendarInForceReportsBadValue: an adopted year that does not decode
// is an error naming its key, from InForce and CalendarStateIn alike.
func TestCalendarInForceReportsBadValue(t *testing.T) {
	s := openStore(t)
	base, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *ledger.Tx) error {
		b, err := tx.Bucket(BucketCalendars)
		if err != nil {
			return err
		}
		if _, err := b.NextSequence(); err != nil {
			return err
		}
		return b.Put([]byte{CalendarYearPrefix, '2', '0', '9', '9'}, []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	c := &CalendarCache{}
	err = s.View(func(tx *ledger.ReadTx) error {
		if _, err := c.InForce(base, tx.Bucket(BucketCalendars)); err == nil || !strings.Contains(err.Error(), "y2099") {
			t.Errorf("InForce = %v; want an error naming y2099", err)
		}
		if _, err := CalendarStateIn(tx, c, base); err == nil || !strings.Contains(err.Error(), "adopted calendars unreadable") {
			t.Errorf("CalendarStateIn = %v; want the unreadable bucket reported", err)
		}
		if got, err := c.InForce(base, nil); err != nil || got != base {
			t.Errorf("no bucket: %v, %v; want the base calendar", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueueValueInitialCatalogue: without an engine the queue value is the
// raft time alone (8 bytes, read as the initial catalogue) and QueuedAt
// reads the time back.
func TestQueueValueInitialCatalogue(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 0, 0, 123, time.UTC)
	v, err := QueueValue(nil, at)
	if err != nil || len(v) != 8 {
		t.Fatalf("QueueValue(nil) = %x, %v; want 8 bytes", v, err)
	}
	if got := QueuedAt(v); !got.Equal(at) {
		t.Fatalf("QueuedAt = %v, want %v", got, at)
	}
	if e := (Catalogues{}).Queued(v); e != nil {
		t.Fatalf("Queued(8 bytes) = %v, want the initial engine (nil here)", e)
	}
}
