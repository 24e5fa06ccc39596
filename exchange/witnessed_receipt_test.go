package exchange

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/ledger"
)

// TestLatestWitnessedOwn reads the own origin's witnessed checkpoint from
// the bucket the push loop writes (size || checkpoint), and reports none
// for an empty or short value; an origin no member has is an error.
func TestLatestWitnessedOwn(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := &Manifest{}
	const own = "creditx.330000/ledger"
	view := func() (signed []byte, size uint64, err error) {
		if verr := s.View(func(tx *ledger.ReadTx) error {
			signed, size, err = m.LatestWitnessed(tx, own, own)
			return nil
		}); verr != nil {
			t.Fatal(verr)
		}
		return
	}
	if signed, size, err := view(); signed != nil || size != 0 || err != nil {
		t.Fatalf("no bucket: %q, %d, %v; want none", signed, size, err)
	}
	if err := s.Update(func(tx *ledger.Tx) error {
		b, err := tx.Bucket(BucketWitnessed)
		if err != nil {
			return err
		}
		return b.Put([]byte(own), append(binary.BigEndian.AppendUint64(nil, 42), "cp"...))
	}); err != nil {
		t.Fatal(err)
	}
	if signed, size, err := view(); string(signed) != "cp" || size != 42 || err != nil {
		t.Fatalf("stored: %q, %d, %v; want cp at 42", signed, size, err)
	}
	err = s.View(func(tx *ledger.ReadTx) error {
		_, _, err := m.LatestWitnessed(tx, own, "creditx.999999/ledger")
		return err
	})
	if err == nil {
		t.Fatal("an origin no member has: no error")
	}
}
