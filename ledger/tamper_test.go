package ledger

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

const marker = "TAMPER-MARKER-7f3a9c-ENTRY-42"

// tamperFixture: a closed store file with 600 entries (entry 42 holds
// marker), two checkpoints, and its keys.
func tamperFixture(t *testing.T) (string, testKeys) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(t, testOrigin)
	var batch [][]byte
	for i := uint64(0); i < 300; i++ {
		e := testEntry(i)
		if i == 42 {
			e = []byte(marker)
		}
		batch = append(batch, e)
	}
	if err := s.Update(func(tx *Tx) error { _, err := tx.Append(testOrigin, batch); return err }); err != nil {
		t.Fatal(err)
	}
	checkpointNow(t, s, testOrigin, k)
	appendN(t, s, testOrigin, 300, 600)
	checkpointNow(t, s, testOrigin, k)
	if _, err := VerifyStore(t.Context(), s, testOrigin, k.verifier, nil, nil); err != nil {
		t.Fatalf("untampered store: %v", err)
	}
	s.Close()
	return path, k
}

func verifyStoreErr(t *testing.T, path string, k testKeys) *VerifyError {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open after tamper: %v", err)
	}
	defer s.Close()
	_, err = VerifyStore(t.Context(), s, testOrigin, k.verifier, nil, nil)
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("VerifyStore after tamper = %v, want *VerifyError", err)
	}
	return ve
}

func rawUpdateLog(t *testing.T, path string, fn func(lb *bbolt.Bucket) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		return fn(tx.Bucket([]byte(bucketLogs)).Bucket([]byte(testOrigin)))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTamperStoreFileByte(t *testing.T) {
	path, k := tamperFixture(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(raw, []byte(marker))
	if n == 0 {
		t.Fatal("marker not found in the file")
	}
	for off := bytes.Index(raw, []byte(marker)); off >= 0; {
		raw[off+len(marker)-1] ^= 0x01 // "42" -> "43"
		next := bytes.Index(raw[off+1:], []byte(marker))
		if next < 0 {
			break
		}
		off += 1 + next
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ve := verifyStoreErr(t, path, k)
	if ve.Index != 42 || ve.Reason != "entry 42: leaf hash does not match hash tile 0/0" {
		t.Fatalf("got %v (index %d), want entry 42 leaf hash mismatch", ve, ve.Index)
	}
}

func TestTamperStoreThroughBolt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(lb *bbolt.Bucket) error
		index  int64
		reason string // "open: ..." means Open itself refuses the file
	}{
		{"delete entry", func(lb *bbolt.Bucket) error {
			return lb.Bucket([]byte(bucketEntries)).Delete(u64(42))
		}, 42, "entry 42 missing"},
		{"entry beyond size", func(lb *bbolt.Bucket) error {
			return lb.Bucket([]byte(bucketEntries)).Put(u64(700), []byte("x"))
		}, 0, "open: last entry key 00000000000002bc, want index 599"},
		{"level-1 tile hash", func(lb *bbolt.Bucket) error {
			b := lb.Bucket([]byte(bucketTiles))
			d := bytes.Clone(b.Get(tileKey(1, 0)))
			d[40] ^= 1
			return b.Put(tileKey(1, 0), d)
		}, 0, "open: meta right edge (128 bytes) does not match hash tiles at size 600"},
		{"level-0 tile hash", func(lb *bbolt.Bucket) error {
			b := lb.Bucket([]byte(bucketTiles))
			d := bytes.Clone(b.Get(tileKey(0, 1)))
			d[32*7] ^= 1
			return b.Put(tileKey(0, 1), d)
		}, 263, "entry 263: leaf hash does not match hash tile 0/1"},
		{"stray tile", func(lb *bbolt.Bucket) error {
			return lb.Bucket([]byte(bucketTiles)).Put(tileKey(0, 9), make([]byte, 32))
		}, -1, "hash tile 0/9 beyond tree size 600"},
		{"leaf index deleted", func(lb *bbolt.Bucket) error {
			return lb.Bucket([]byte(bucketLeaves)).Delete(func() []byte { h := LeafHash(testEntry(500)); return h[:] }())
		}, 500, "entry 500: leaf hash not in leaf index"},
		{"checkpoint signature", func(lb *bbolt.Bucket) error {
			b := lb.Bucket([]byte(bucketCheckpoints))
			d := bytes.Clone(b.Get(u64(300)))
			d[len(d)-5] ^= 1
			return b.Put(u64(300), d)
		}, -1, "checkpoint stored at size 300"},
		{"checkpoint moved", func(lb *bbolt.Bucket) error {
			b := lb.Bucket([]byte(bucketCheckpoints))
			return b.Put(u64(299), bytes.Clone(b.Get(u64(300))))
		}, -1, "checkpoint stored at size 299 names size 300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, k := tamperFixture(t)
			rawUpdateLog(t, path, tc.tamper)
			if want, ok := strings.CutPrefix(tc.reason, "open: "); ok {
				var ce *CorruptError
				s, err := Open(path, Options{NoSync: true})
				if err == nil {
					s.Close()
				}
				if !errors.As(err, &ce) || ce.Reason != want {
					t.Fatalf("Open = %v, want CorruptError %q", err, want)
				}
				return
			}
			ve := verifyStoreErr(t, path, k)
			if ve.Index != tc.index || ve.Reason != tc.reason {
				t.Fatalf("got %q (index %d), want %q (index %d)", ve.Reason, ve.Index, tc.reason, tc.index)
			}
		})
	}
}

func TestTamperExport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string
		tamper func(b []byte) []byte
		index  int64
		reason string
	}{
		{"bundle byte", "tile/entries/001", func(b []byte) []byte {
			// entry 256 starts after its 2-byte length
			b[2] ^= 1
			return b
		}, 256, "entry 256: leaf hash does not match hash tile 0/1"},
		{"level-0 tile", "tile/0/000", func(b []byte) []byte { b[32*99] ^= 0x80; return b }, 99,
			"entry 99: leaf hash does not match hash tile 0/0"},
		{"level-1 tile", "tile/1/000.p/3", func(b []byte) []byte { b[70] ^= 1; return b }, -1,
			"hash tile 1/0: hash 2 does not match entries 512..767"},
		{"bundle truncated", "tile/entries/002", func(b []byte) []byte { return b[:len(b)-1] }, 512,
			"entry bundle 2 malformed"},
		{"bundle deleted", "tile/entries/001", nil, 256, "entry 256 missing (entry bundle 1 unreadable)"},
		{"tile deleted", "tile/0/002", nil, -1, "hash tile 0/2 missing or unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, k, _ := exportFixture(t, 800)
			p := filepath.Join(dir, filepath.FromSlash(tc.file))
			if tc.tamper == nil {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			} else {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, tc.tamper(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			signed, _ := DirSource(dir).Checkpoint()
			_, err := Verify(t.Context(), DirSource(dir), signed, testOrigin, k.verifier, nil, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Index != tc.index || ve.Reason != tc.reason {
				t.Fatalf("Verify = %v, want index %d reason %q", err, tc.index, tc.reason)
			}
		})
	}
	t.Run("checkpoint", func(t *testing.T) {
		dir, k, _ := exportFixture(t, 10)
		signed, _ := DirSource(dir).Checkpoint()
		forged := strings.Replace(string(signed), "\n10\n", "\n9\n", 1)
		_, err := Verify(t.Context(), DirSource(dir), []byte(forged), testOrigin, k.verifier, nil, nil)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Index != -1 || ve.Reason != "checkpoint" {
			t.Fatalf("Verify(forged checkpoint) = %v", err)
		}
	})
}
