package nodetest

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// Occurrences returns the offset of every copy of b in raw: the live copy
// of an entry in a ledger.db and the stale ones bbolt left in free pages
// (it copies on write). It fails the test if there is none.
func Occurrences(t testing.TB, raw, b []byte) []int {
	t.Helper()
	var out []int
	for off := 0; ; {
		i := bytes.Index(raw[off:], b)
		if i < 0 {
			break
		}
		out = append(out, off+i)
		off += i + 1
	}
	if len(out) == 0 {
		t.Fatal("bytes not found in the file")
	}
	return out
}

// EditLedgerDB rewrites the bbolt file at path (a stopped node's ledger.db)
// with the changes fn makes to its bytes; pageSize is the file's page size,
// as meta page 0 records it.
func EditLedgerDB(t testing.TB, path string, fn func(raw []byte, pageSize int)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Meta page 0: a 16-byte page header, then magic, version, page size (u32 each).
	fn(raw, int(binary.LittleEndian.Uint32(raw[16+8:])))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
