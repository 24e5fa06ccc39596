package ledger

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestAppendRejectsBadInput(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, 3)
	for _, tc := range []struct {
		name    string
		origin  string
		entries [][]byte
		is      error
		msg     string
	}{
		{"empty entry", testOrigin, [][]byte{[]byte("ok"), {}}, ErrEmptyEntry, "entries[1]"},
		{"too large", testOrigin, [][]byte{make([]byte, MaxEntrySize+1)}, ErrEntryTooLarge, "entries[0] is 65536 bytes"},
		{"empty origin", "", [][]byte{[]byte("x")}, nil, "origin is empty"},
		{"space in origin", "a b", [][]byte{[]byte("x")}, nil, "space or control"},
		{"newline in origin", "a\nb", [][]byte{[]byte("x")}, nil, "space or control"},
	} {
		var appendErr error
		err := s.Update(func(tx *Tx) error {
			_, appendErr = tx.Append(tc.origin, tc.entries)
			return nil // even if the caller ignores the error, nothing was written
		})
		if err != nil {
			t.Fatalf("%s: Update: %v", tc.name, err)
		}
		if appendErr == nil || (tc.is != nil && !errors.Is(appendErr, tc.is)) || !strings.Contains(appendErr.Error(), tc.msg) {
			t.Errorf("%s: Append err = %v, want %v containing %q", tc.name, appendErr, tc.is, tc.msg)
		}
	}
	if n, _ := s.Log(testOrigin).Size(); n != 3 {
		t.Errorf("size after rejected appends = %d, want 3", n)
	}
	if o, _ := s.Origins(); !slices.Equal(o, []string{testOrigin}) {
		t.Errorf("Origins = %q", o)
	}
	// MaxEntrySize itself is accepted.
	if err := s.Update(func(tx *Tx) error {
		_, err := tx.Append(testOrigin, [][]byte{bytes.Repeat([]byte{1}, MaxEntrySize)})
		return err
	}); err != nil {
		t.Errorf("append of MaxEntrySize bytes: %v", err)
	}
}

func TestUpdateAtomicAcrossLogsAndBuckets(t *testing.T) {
	s := openTest(t)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		early := tx.Log("creditx.310000/ledger") // obtained before the log exists
		if _, err := tx.Append("creditx.310000/ledger", [][]byte{[]byte("a")}); err != nil {
			return err
		}
		if early.Size() != 1 {
			t.Errorf("reader obtained before the first Append sees size %d, want 1", early.Size())
		}
		if _, err := tx.Append("creditx.320000/ledger", [][]byte{[]byte("b")}); err != nil {
			return err
		}
		b, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		if err := b.Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		if tx.Log("creditx.310000/ledger").Size() != 1 {
			t.Error("Tx.Log does not see the transaction's own append")
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	s.View(func(tx *ReadTx) error {
		if o := tx.Origins(); len(o) != 0 {
			t.Errorf("origins after failed Update: %q", o)
		}
		if tx.Bucket("subjects") != nil {
			t.Error("ext bucket survived failed Update")
		}
		return nil
	})
	// The same work committed is visible together.
	err = s.Update(func(tx *Tx) error {
		if _, err := tx.Append("creditx.310000/ledger", [][]byte{[]byte("a")}); err != nil {
			return err
		}
		b, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *ReadTx) error {
		if b := tx.Bucket("subjects"); b == nil || string(b.Get([]byte("k"))) != "v" {
			t.Error("ext bucket write lost")
		}
		if tx.Log("creditx.310000/ledger").Size() != 1 {
			t.Error("append lost")
		}
		return nil
	})
}

func TestIdempotentResubmission(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, 5)
	e := testEntry(3)
	l := s.Log(testOrigin)
	if i, ok, err := l.LeafIndex(LeafHash(e)); err != nil || !ok || i != 3 {
		t.Fatalf("LeafIndex(entry 3) = %d, %v, %v", i, ok, err)
	}
	if _, ok, _ := l.LeafIndex(LeafHash([]byte("never appended"))); ok {
		t.Fatal("LeafIndex found an absent entry")
	}
	// A duplicate appended anyway (the caller's choice) keeps the first index.
	err := s.Update(func(tx *Tx) error {
		first, err := tx.Append(testOrigin, [][]byte{e, e})
		if first != 5 {
			t.Errorf("first = %d, want 5", first)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if i, _, _ := l.LeafIndex(LeafHash(e)); i != 3 {
		t.Errorf("LeafIndex after duplicate = %d, want 3", i)
	}
	if LeafHash(e) != tlog.RecordHash(e) {
		t.Error("LeafHash differs from RFC 6962 record hash")
	}
	if _, err := VerifyStore(t.Context(), s, testOrigin, newKeys(t, testOrigin).verifier, nil, nil); err != nil {
		t.Errorf("VerifyStore with duplicates: %v", err)
	}
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	k := newKeys(t, testOrigin)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.db.NoSync {
		t.Fatal("default Options must fsync (NoSync false)")
	}
	appendN(t, s, testOrigin, 0, 700)
	appendN(t, s, "creditx.340000/ledger", 0, 3)
	signed := checkpointNow(t, s, testOrigin, k)
	root, _ := s.Log(testOrigin).TreeHash(700)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Errorf("Path = %q", s.Path())
	}
	l := s.Log(testOrigin)
	if n, _ := l.Size(); n != 700 {
		t.Fatalf("size after reopen = %d", n)
	}
	if got, _ := l.TreeHash(700); got != root {
		t.Error("tree hash changed across reopen")
	}
	if got, _ := l.Checkpoint(); !bytes.Equal(got, signed) {
		t.Error("checkpoint changed across reopen")
	}
	if e, _ := l.Entry(699); !bytes.Equal(e, testEntry(699)) {
		t.Error("entry changed across reopen")
	}
	if o, _ := s.Origins(); !slices.Equal(o, []string{testOrigin, "creditx.340000/ledger"}) {
		t.Errorf("Origins = %q", o)
	}
	appendN(t, s, testOrigin, 700, 800) // the right edge from meta continues correctly
	if _, err := VerifyStore(t.Context(), s, testOrigin, k.verifier, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSetCheckpoint(t *testing.T) {
	s := openTest(t)
	k := newKeys(t, testOrigin)
	other := newKeys(t, "creditx.310000/ledger")
	appendN(t, s, testOrigin, 0, 10)
	l := s.Log(testOrigin)
	if _, err := l.Checkpoint(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Checkpoint before any = %v", err)
	}
	root5, _ := l.TreeHash(5)
	root10, _ := l.TreeHash(10)
	sign := func(k testKeys, origin string, size uint64, root tlog.Hash) []byte {
		b, err := SignCheckpoint(k.signer, origin, size, root)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	set := func(signed []byte, v note.Verifier) error {
		return s.Update(func(tx *Tx) error { return tx.SetCheckpoint(testOrigin, signed, v) })
	}
	var mismatch *RootMismatchError
	var unverified *note.UnverifiedNoteError
	for _, tc := range []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"other key", set(sign(other, "creditx.310000/ledger", 5, root5), k.verifier), func(e error) bool { return errors.As(e, &unverified) }},
		{"beyond size", set(sign(k, testOrigin, 11, root10), k.verifier), func(e error) bool { return errors.Is(e, ErrCheckpointAhead) }},
		{"wrong root", set(sign(k, testOrigin, 5, root10), k.verifier), func(e error) bool {
			return errors.As(e, &mismatch) && mismatch.Size == 5 && mismatch.Tree == root5 && mismatch.Checkpoint == root10
		}},
		{"garbage", set([]byte("not a note\n"), k.verifier), func(e error) bool { return e != nil }},
	} {
		if !tc.check(tc.err) {
			t.Errorf("%s: err = %v", tc.name, tc.err)
		}
	}
	if _, err := l.Checkpoint(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("a rejected checkpoint was stored: %v", err)
	}
	cp10, cp5 := sign(k, testOrigin, 10, root10), sign(k, testOrigin, 5, root5)
	for _, cp := range [][]byte{cp10, cp5} { // an older one arriving late stays history only
		if err := set(cp, k.verifier); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := l.Checkpoint(); !bytes.Equal(got, cp10) {
		t.Errorf("latest = %q, want size 10", got)
	}
	var sizes []uint64
	l.Checkpoints(func(size uint64, _ []byte) error { sizes = append(sizes, size); return nil })
	if !slices.Equal(sizes, []uint64{5, 10}) {
		t.Errorf("history sizes = %v", sizes)
	}
}

// TestStoreCheckpoint: StoreCheckpoint stores only a Checkpoint that
// OpenCheckpoint opened with the key it is given (not one built by hand,
// nor one opened with another key of the same name), and checks size and
// root as SetCheckpoint does.
func TestStoreCheckpoint(t *testing.T) {
	s := openTest(t)
	k, k2 := newKeys(t, testOrigin), newKeys(t, testOrigin) // same name, two keys
	appendN(t, s, testOrigin, 0, 10)
	l := s.Log(testOrigin)
	root5, _ := l.TreeHash(5)
	root10, _ := l.TreeHash(10)
	open := func(size uint64, root tlog.Hash) *Checkpoint {
		signed, err := SignCheckpoint(k.signer, testOrigin, size, root)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := OpenCheckpoint(signed, testOrigin, k.verifier)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	store := func(cp *Checkpoint, v note.Verifier) error {
		return s.Update(func(tx *Tx) error { return tx.StoreCheckpoint(cp, v) })
	}
	cp10 := open(10, root10)
	byHand := &Checkpoint{Origin: cp10.Origin, Size: cp10.Size, Root: cp10.Root, Note: cp10.Note, Signed: cp10.Signed}
	var mismatch *RootMismatchError
	for _, tc := range []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"built by hand", store(byHand, k.verifier), func(e error) bool { return errors.Is(e, ErrNotOpened) }},
		{"nil", store(nil, k.verifier), func(e error) bool { return errors.Is(e, ErrNotOpened) }},
		{"opened with another key", store(cp10, k2.verifier), func(e error) bool { return errors.Is(e, ErrNotOpened) }},
		{"beyond size", store(open(11, root10), k.verifier), func(e error) bool { return errors.Is(e, ErrCheckpointAhead) }},
		{"wrong root", store(open(5, root10), k.verifier), func(e error) bool { return errors.As(e, &mismatch) && mismatch.Tree == root5 }},
	} {
		if !tc.check(tc.err) {
			t.Errorf("%s: err = %v", tc.name, tc.err)
		}
	}
	if _, err := l.Checkpoint(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("a refused checkpoint was stored: %v", err)
	}
	if err := store(cp10, k.verifier); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Checkpoint(); !bytes.Equal(got, cp10.Signed) {
		t.Errorf("latest = %q, want the stored size 10", got)
	}
}

func TestOpenCheckpointStrict(t *testing.T) {
	k := newKeys(t, testOrigin)
	var root tlog.Hash
	root[0] = 1
	signBody := func(body string) []byte {
		b, err := note.Sign(&note.Note{Text: body}, k.signer)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := "creditx.330000/ledger\n7\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	if cp, err := OpenCheckpoint(signBody(good), testOrigin, k.verifier); err != nil || cp.Size != 7 || cp.Root != root {
		t.Fatalf("OpenCheckpoint(good) = %+v, %v", cp, err)
	}
	if _, err := OpenCheckpoint(signBody(good+"extension line\n"), testOrigin, k.verifier); err != nil {
		t.Errorf("extension line rejected: %v", err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"leading zero", "creditx.330000/ledger\n07\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "canonical"},
		{"short root", "creditx.330000/ledger\n7\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "root hash is 31 bytes"},
		{"other origin", "creditx.310000/ledger\n7\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "want \"creditx.330000/ledger\""},
		{"no size", "creditx.330000/ledger\n\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size invalid"},
		{"two lines", "creditx.330000/ledger\n7\n", "too few newlines"},
	} {
		_, err := OpenCheckpoint(signBody(tc.body), testOrigin, k.verifier)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := SignCheckpoint(k.signer, "creditx.310000/ledger", 1, root); err == nil {
		t.Error("SignCheckpoint with a signer named for another origin succeeded")
	}
}

func TestTileAndBundleReads(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, 300)
	l := s.Log(testOrigin)
	full, err := l.Tile(0, 0, 256)
	if err != nil || len(full) != 256*32 {
		t.Fatalf("Tile(0,0,256) = %d bytes, %v", len(full), err)
	}
	for i := 0; i < 256; i++ {
		if h := LeafHash(testEntry(uint64(i))); !bytes.Equal(full[i*32:(i+1)*32], h[:]) {
			t.Fatalf("tile 0/0 hash %d is not the leaf hash of entry %d", i, i)
		}
	}
	p, err := l.Tile(0, 1, 44)
	if err != nil || len(p) != 44*32 {
		t.Fatalf("Tile(0,1,44) = %d bytes, %v", len(p), err)
	}
	if pre, _ := l.Tile(0, 1, 10); !bytes.Equal(pre, p[:320]) {
		t.Error("narrower partial tile is not a prefix")
	}
	up, err := l.Tile(1, 0, 1)
	if th, _ := l.TreeHash(256); err != nil || !bytes.Equal(up, th[:]) {
		t.Errorf("tile 1/0 width 1 = %x, %v; want tree hash of 256 %v", up, err, th)
	}
	for _, tc := range []struct {
		level int
		n     uint64
		w     int
	}{{0, 1, 45}, {0, 2, 1}, {1, 0, 2}, {2, 0, 1}} {
		if _, err := l.Tile(tc.level, tc.n, tc.w); !errors.Is(err, ErrNotFound) {
			t.Errorf("Tile(%d,%d,%d) = %v, want ErrNotFound", tc.level, tc.n, tc.w, err)
		}
	}
	for _, w := range []int{0, 257} {
		if _, err := l.Tile(0, 0, w); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Tile width %d: err = %v, want argument error", w, err)
		}
	}
	b, err := l.EntryBundle(1, 44)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseEntryBundle(b)
	if err != nil || len(entries) != 44 || !bytes.Equal(entries[43], testEntry(299)) {
		t.Fatalf("bundle 1.p/44: %d entries, %v", len(entries), err)
	}
	if _, err := l.EntryBundle(1, 45); !errors.Is(err, ErrNotFound) {
		t.Errorf("EntryBundle beyond size = %v", err)
	}
	var seen []uint64
	if err := l.ForEach(250, 260, func(i uint64, e []byte) error {
		if !bytes.Equal(e, testEntry(i)) {
			t.Errorf("ForEach entry %d wrong", i)
		}
		seen = append(seen, i)
		return nil
	}); err != nil || len(seen) != 10 || seen[0] != 250 {
		t.Errorf("ForEach = %v, %v", seen, err)
	}
}

func TestOpenDetectsCorruptMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, testOrigin, 0, 1000)
	s.Close()
	rawUpdate := func(fn func(meta *bbolt.Bucket) error) {
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bbolt.Tx) error {
			return fn(tx.Bucket([]byte(bucketLogs)).Bucket([]byte(testOrigin)).Bucket([]byte(bucketMeta)))
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A missing right edge is rebuilt from the tiles.
	rawUpdate(func(meta *bbolt.Bucket) error { return meta.Delete([]byte(keyRange)) })
	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open with missing right edge: %v", err)
	}
	appendN(t, s, testOrigin, 1000, 1001)
	if _, err := VerifyStore(t.Context(), s, testOrigin, newKeys(t, testOrigin).verifier, nil, nil); err != nil {
		t.Fatalf("after rebuild: %v", err)
	}
	s.Close()
	// A wrong right edge or size is refused.
	for name, fn := range map[string]func(meta *bbolt.Bucket) error{
		"edge": func(meta *bbolt.Bucket) error {
			e := bytes.Clone(meta.Get([]byte(keyRange)))
			e[0] ^= 1
			return meta.Put([]byte(keyRange), e)
		},
		"size": func(meta *bbolt.Bucket) error { return meta.Put([]byte(keySize), u64(1002)) },
	} {
		var old []byte
		rawUpdate(func(meta *bbolt.Bucket) error {
			old = bytes.Clone(meta.Get([]byte(keyRange)))
			return fn(meta)
		})
		var ce *CorruptError
		if _, err := Open(path, Options{NoSync: true}); !errors.As(err, &ce) || ce.Origin != testOrigin {
			t.Errorf("%s: Open = %v, want CorruptError", name, err)
		}
		rawUpdate(func(meta *bbolt.Bucket) error {
			if err := meta.Put([]byte(keySize), u64(1001)); err != nil {
				return err
			}
			return meta.Put([]byte(keyRange), old)
		})
	}
}

func TestDropCheckpoint(t *testing.T) {
	s := openTest(t)
	k := newKeys(t, "creditx.330000/ledger")
	appendN(t, s, "creditx.330000/ledger", 0, 10)
	checkpointNow(t, s, "creditx.330000/ledger", k)
	appendN(t, s, "creditx.330000/ledger", 10, 20)
	checkpointNow(t, s, "creditx.330000/ledger", k)
	err := s.Update(func(tx *Tx) error { return tx.DropCheckpoint("creditx.330000/ledger", 20) })
	if err == nil {
		t.Fatal("dropped the latest checkpoint")
	}
	if err := s.Update(func(tx *Tx) error { return tx.DropCheckpoint("creditx.330000/ledger", 10) }); err != nil {
		t.Fatal(err)
	}
	var sizes []uint64
	s.Log("creditx.330000/ledger").Checkpoints(func(size uint64, _ []byte) error { sizes = append(sizes, size); return nil })
	if len(sizes) != 1 || sizes[0] != 20 {
		t.Fatalf("history after drop: %v, want [20]", sizes)
	}
	if _, err := VerifyStore(context.Background(), s, "creditx.330000/ledger", k.verifier, nil, nil); err != nil {
		t.Fatalf("store with thinned history does not verify: %v", err)
	}
}

// TestAppendHashedSameAsAppend: AppendHashed with the entries' own leaf
// hashes builds the same tree, leaf index and right edge as Append (two
// stores, the same batches, including the same bytes twice in one batch,
// whose first index is kept); a hash count that does not match the entries
// is refused and writes nothing.
func TestAppendHashedSameAsAppend(t *testing.T) {
	a, b := openTest(t), openTest(t)
	batches := [][][]byte{{testEntry(0), testEntry(1), testEntry(2)}, {testEntry(3), testEntry(1), testEntry(4), testEntry(4)}}
	for _, es := range batches {
		if err := a.Update(func(tx *Tx) error { _, err := tx.Append(testOrigin, es); return err }); err != nil {
			t.Fatal(err)
		}
		leaves := make([]tlog.Hash, len(es))
		for i, e := range es {
			leaves[i] = tlog.RecordHash(e)
		}
		if err := b.Update(func(tx *Tx) error { _, err := tx.AppendHashed(testOrigin, es, leaves); return err }); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Update(func(tx *Tx) error {
		_, err := tx.AppendHashed(testOrigin, [][]byte{testEntry(9)}, make([]tlog.Hash, 2))
		return err
	})
	if err == nil {
		t.Fatal("AppendHashed with 2 hashes for 1 entry succeeded")
	}
	for _, s := range []*Store{a, b} {
		err := s.View(func(tx *ReadTx) error {
			lr := tx.Log(testOrigin)
			if lr.Size() != 7 {
				t.Errorf("size %d, want 7", lr.Size())
			}
			for e, want := range map[uint64]uint64{0: 0, 1: 1, 2: 2, 3: 3, 4: 5} {
				if i, ok := lr.LeafIndex(tlog.RecordHash(testEntry(e))); !ok || i != want {
					t.Errorf("LeafIndex(entry %d) = %d, %v; want %d (the first index)", e, i, ok, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var ha, hb tlog.Hash
	a.View(func(tx *ReadTx) error { ha, _ = tx.Log(testOrigin).TreeHash(7); return nil })
	b.View(func(tx *ReadTx) error { hb, _ = tx.Log(testOrigin).TreeHash(7); return nil })
	if ha != hb || ha == (tlog.Hash{}) {
		t.Errorf("tree hashes differ: Append %x, AppendHashed %x", ha, hb)
	}
}

// TestTxBucketOpenedOncePerTx: Tx.Bucket hands out one handle per name
// for the life of a Tx (the FSM's indexers ask for the same buckets once
// per entry), writes through any handle are one bucket's, an empty name is
// still refused, and the next Tx opens the bucket afresh.
func TestTxBucketOpenedOncePerTx(t *testing.T) {
	s := openTest(t)
	var first *bbolt.Bucket
	err := s.Update(func(tx *Tx) error {
		if _, err := tx.Bucket(""); err == nil {
			t.Error("Bucket(\"\") = nil error, want one")
		}
		a, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		if err := a.Put([]byte("k1"), []byte("v1")); err != nil {
			return err
		}
		b, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		if a != b {
			t.Error("a second Bucket call in the same Tx opened another handle")
		}
		if b.FillPercent != extFillPercent {
			t.Errorf("FillPercent = %v, want %v", b.FillPercent, extFillPercent)
		}
		if string(b.Get([]byte("k1"))) != "v1" {
			t.Error("write through the first handle not seen through the second")
		}
		other, err := tx.Bucket("refs")
		if err != nil {
			return err
		}
		if other == a {
			t.Error("two names share one handle")
		}
		first = a
		return b.Put([]byte("k2"), []byte("v2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		b, err := tx.Bucket("subjects")
		if err != nil {
			return err
		}
		if b == first {
			t.Error("the next Tx reused a handle of the previous one")
		}
		if string(b.Get([]byte("k1"))) != "v1" || string(b.Get([]byte("k2"))) != "v2" {
			t.Error("writes through the cached handles lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSizeOpensMetaOnly: the size of a log read first opens its meta
// bucket alone, not all five (bbolt allocates per bucket opened in a read
// transaction; a status read asks the size of every mirror, issue 20), and
// agrees with the size read after the other buckets were opened.
func TestSizeOpensMetaOnly(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, 300)
	var first, all float64
	s.View(func(tx *ReadTx) error {
		first = testing.AllocsPerRun(20, func() {
			if n := tx.Log(testOrigin).Size(); n != 300 {
				t.Fatalf("Size = %d, want 300", n)
			}
		})
		all = testing.AllocsPerRun(20, func() {
			r := tx.Log(testOrigin)
			r.bk()
			if n := r.Size(); n != 300 {
				t.Fatalf("Size after opening every bucket = %d, want 300", n)
			}
		})
		if n := tx.Log("example.com/nothing").Size(); n != 0 {
			t.Errorf("Size of an unknown log = %d, want 0", n)
		}
		return nil
	})
	t.Logf("Size alone: %.0f allocations, with every bucket opened %.0f", first, all)
	if first > all-8 { // 4 buckets fewer, each a cursor and a bucket at least
		t.Errorf("Size alone: %.0f allocations, with every bucket opened %.0f: want 8 fewer at least", first, all)
	}
}
