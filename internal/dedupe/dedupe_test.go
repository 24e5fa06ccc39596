package dedupe

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// entry is a signed entry shape around record with a signature of sigByte
// bytes (ParseSigned checks the shape, not the signature).
func entry(key, record string, sigByte byte) []byte {
	sig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{sigByte}, 64))
	return []byte(`{"key":"` + key + `","record":` + record + `,"sig":"` + sig + `"}`)
}

const rec1 = `{"n":1,"schema":"x"}`

// TestKeyIgnoresSignature: the same record under another key and signature
// has the same key; another record or origin has another; garbage has none.
func TestKeyIgnoresSignature(t *testing.T) {
	a := Key("o", entry("0123456789abcdef", rec1, 1))
	if a == nil {
		t.Fatal("no key for a signed entry")
	}
	if b := Key("o", entry("fedcba9876543210", rec1, 2)); !bytes.Equal(a, b) {
		t.Error("re-signed record: different keys")
	}
	if b := Key("o", entry("0123456789abcdef", `{"n":2,"schema":"x"}`, 1)); bytes.Equal(a, b) {
		t.Error("different records: same key")
	}
	if b := Key("p", entry("0123456789abcdef", rec1, 1)); bytes.Equal(a, b) {
		t.Error("different origins: same key")
	}
	if Key("o", []byte("not an entry")) != nil {
		t.Error("garbage has a key")
	}
}

// TestBatchKeepsFirstIndex: a duplicate within one command and across
// commits gets the first index; Mirrored reports only later copies.
func TestBatchKeepsFirstIndex(t *testing.T) {
	s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	parse := func(e []byte) *schemas.Signed {
		sg, err := schemas.ParseSigned(e)
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	e1, e1b := parse(entry("0123456789abcdef", rec1, 1)), parse(entry("fedcba9876543210", rec1, 2))
	err = s.Update(func(tx *ledger.Tx) error {
		d, err := NewBatch(tx, "o")
		if err != nil {
			return err
		}
		if _, dup := d.Dup(e1, 5); dup {
			t.Error("first entry is a duplicate")
		}
		if idx, dup := d.Dup(e1b, 6); !dup || idx != 5 {
			t.Errorf("re-signed copy in the same command: %d, %v; want 5, true", idx, dup)
		}
		return d.Commit()
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *ledger.Tx) error {
		d, err := NewBatch(tx, "o")
		if err != nil {
			return err
		}
		if idx, dup := d.Dup(e1b, 9); !dup || idx != 5 {
			t.Errorf("re-signed copy in a later command: %d, %v; want 5, true", idx, dup)
		}
		if dup, err := Mirrored(tx, "m", 3, e1); err != nil || dup {
			t.Errorf("first mirrored copy: %v, %v; want false", dup, err)
		}
		if dup, err := Mirrored(tx, "m", 3, e1b); err != nil || dup {
			t.Errorf("same index again: %v, %v; want false", dup, err)
		}
		if dup, err := Mirrored(tx, "m", 8, e1b); err != nil || !dup {
			t.Errorf("later mirrored copy: %v, %v; want true", dup, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
