package ledger

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "creditx.330000/ledger"

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "ledger.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type testKeys struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func newKeys(t testing.TB, origin string) testKeys {
	t.Helper()
	skey, vkey, err := GenerateKey(origin, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{s, v, vkey}
}

// testEntry is deterministic, distinct per index, and of varying length.
func testEntry(i uint64) []byte {
	return []byte(fmt.Sprintf("entry-%d-%s", i, bytes.Repeat([]byte{'a' + byte(i%26)}, int(i%37))))
}

func appendN(t testing.TB, s *Store, origin string, from, to uint64) {
	t.Helper()
	var batch [][]byte
	for i := from; i < to; i++ {
		batch = append(batch, testEntry(i))
	}
	if err := s.Update(func(tx *Tx) error {
		first, err := tx.Append(origin, batch)
		if err == nil && first != from {
			err = fmt.Errorf("first = %d, want %d", first, from)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// checkpointNow signs and stores a checkpoint at the current size.
func checkpointNow(t testing.TB, s *Store, origin string, k testKeys) []byte {
	t.Helper()
	var signed []byte
	err := s.Update(func(tx *Tx) error {
		r := tx.Log(origin)
		root, err := r.TreeHash(r.Size())
		if err != nil {
			return err
		}
		if signed, err = SignCheckpoint(k.signer, origin, r.Size(), root); err != nil {
			return err
		}
		return tx.SetCheckpoint(origin, signed, k.verifier)
	})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// memTree is an independent in-memory tree built only with x/mod tlog.
type memTree struct {
	stored []tlog.Hash
	n      int64
}

func (m *memTree) add(t testing.TB, entry []byte) {
	hs, err := tlog.StoredHashes(m.n, entry, m)
	if err != nil {
		t.Fatal(err)
	}
	m.stored = append(m.stored, hs...)
	m.n++
}

func (m *memTree) root(t testing.TB, n int64) tlog.Hash {
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx >= int64(len(m.stored)) {
			return nil, fmt.Errorf("memTree: hash %d not stored", idx)
		}
		out[i] = m.stored[idx]
	}
	return out, nil
}
