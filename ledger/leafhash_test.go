package ledger

import (
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestLeafHash: the leaf hash read from hash tile 0 is the SHA-256 leaf
// hash of the entry as appended, across a tile boundary, and an index at
// or beyond the size is ErrNotFound (the check index relies on both).
func TestLeafHash(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, TileWidth+3)
	err := s.View(func(tx *ReadTx) error {
		lr := tx.Log(testOrigin)
		for _, i := range []uint64{0, 1, TileWidth - 1, TileWidth, TileWidth + 2} {
			h, err := lr.LeafHash(i)
			if err != nil {
				t.Fatalf("LeafHash(%d): %v", i, err)
			}
			if want := tlog.RecordHash(testEntry(i)); h != want {
				t.Errorf("LeafHash(%d) = %x, want %x", i, h, want)
			}
		}
		if _, err := lr.LeafHash(TileWidth + 3); !errors.Is(err, ErrNotFound) {
			t.Errorf("LeafHash(size) = %v, want ErrNotFound", err)
		}
		if _, err := tx.Log("other.origin").LeafHash(0); !errors.Is(err, ErrNotFound) {
			t.Errorf("LeafHash of an unknown log = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
