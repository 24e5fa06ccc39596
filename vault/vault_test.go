package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

const origin = "creditx.330000/ledger"

func key(t *testing.T) []byte {
	k := make([]byte, KeyLen)
	rand.Read(k)
	return k
}

// TestWrap: wrapping is deterministic across replicas holding the same key,
// bound to its place and key, and carries its epoch from epoch 1 on.
func TestWrap(t *testing.T) {
	vk := key(t)
	v1, _ := NewState(vk, 0)
	v2, _ := NewState(append([]byte(nil), vk...), 0)
	other, _ := NewState(key(t), 0)
	var dk schemas.DataKey
	rand.Read(dk[:])
	const p0, p1 = "subject.responsible_persons[0].person", "subject.responsible_persons[1].person"
	w0 := v1.Wrap(origin, 1, p0, dk)
	if !bytes.Equal(w0, v2.Wrap(origin, 1, p0, dk)) || len(w0) != 60 {
		t.Fatalf("wrapping is not deterministic across replicas (%d bytes)", len(w0))
	}
	if got, err := v2.Unwrap(origin, 1, p0, w0); err != nil || got != dk {
		t.Fatalf("unwrap: %v", err)
	}
	e1 := v1.Next()
	w1 := e1.Wrap(origin, 1, p0, dk)
	if e, _ := WrappedEpoch(w1); len(w1) != 64 || e != 1 {
		t.Fatalf("epoch-1 wrapping: %d bytes, epoch %d; want 64, 1", len(w1), e)
	}
	if got, err := e1.Unwrap(origin, 1, p0, w1); err != nil || got != dk {
		t.Fatalf("unwrap at epoch 1: %v", err)
	}
	for _, c := range []struct {
		name string
		s    *State
		idx  uint64
		path string
		w    []byte
	}{
		{"another index", v2, 2, p0, w0},
		{"another path", v2, 1, p1, w0},
		{"another vault key", other, 1, p0, w0},
		{"epoch 0 key, epoch 1 wrapping", v1, 1, p0, w1},
		{"epoch 1 key, epoch 0 wrapping", e1, 1, p0, w0},
		{"truncated", v1, 1, p0, w0[:11]},
		{"a flipped bit", v1, 1, p0, append(append([]byte(nil), w0[:59]...), w0[59]^1)},
	} {
		if _, err := c.s.Unwrap(origin, c.idx, c.path, c.w); err == nil {
			t.Errorf("%s: opened", c.name)
		}
	}
	if !bytes.Equal(e1.key, NextKey(vk)) || bytes.Equal(NextKey(vk), vk) {
		t.Error("Next is not the ratchet step NextKey")
	}
	if _, err := NewState(vk[:31], 0); err == nil {
		t.Error("NewState took a 31-byte key")
	}
}

// TestRing: the key file's format, and AdvanceTo replacing it one way.
func TestRing(t *testing.T) {
	dir := t.TempDir()
	if r, err := LoadRing(filepath.Join(dir, "none")); r != nil || err != nil {
		t.Fatalf("missing file: %v, %v; want nil, nil (vault disabled)", r, err)
	}
	for _, bad := range []string{"", "zz", strings.Repeat("00", 31), strings.Repeat("00", 32) + " x", strings.Repeat("00", 32) + " 1 2", strings.Repeat("00", 32) + " 4294967296"} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte(bad+"\n"), 0o600)
		if _, err := LoadRing(p); err == nil {
			t.Errorf("LoadRing(%q): nil error", bad)
		}
	}
	vk := key(t)
	p := filepath.Join(dir, "vault.key")
	os.WriteFile(p, []byte(hex.EncodeToString(vk)+"\n"), 0o600) // the format before issue 14: epoch 0
	r, err := LoadRing(p)
	if err != nil || r.State().Epoch() != 0 {
		t.Fatalf("LoadRing: %v", err)
	}
	if err := r.AdvanceTo(2); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(NextKey(NextKey(vk))) + " 2\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("key file after AdvanceTo(2) = %q, want %q", b, want)
	}
	if r2, err := LoadRing(p); err != nil || r2.State().Epoch() != 2 || !bytes.Equal(r2.State().key, r.State().key) {
		t.Errorf("reloaded ring: %v", err)
	}
	if err := r.AdvanceTo(1); err == nil {
		t.Error("AdvanceTo went back")
	}
	if err := r.AdvanceTo(2); err != nil {
		t.Errorf("AdvanceTo the same epoch: %v", err)
	}
}

func bucket(t *testing.T, f func(b *bbolt.Bucket)) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "v.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(Bucket))
		if err != nil {
			return err
		}
		f(b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPutEraseRotate: the bucket operations' refusals, idempotence, and the
// ratchet re-wrapping what remains so that the old key opens nothing stored.
func TestPutEraseRotate(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	vk := key(t)
	p := filepath.Join(dir, "vault.key")
	os.WriteFile(p, []byte(hex.EncodeToString(vk)+"\n"), 0o600)
	ring, err := LoadRing(p)
	if err != nil {
		t.Fatal(err)
	}
	e0 := ring.State()
	var dk, dk2 schemas.DataKey
	rand.Read(dk[:])
	rand.Read(dk2[:])
	const pa, pb = "subject.person", "subject.responsible_persons[0].person"
	item := func(s *State, index uint64, path string, k schemas.DataKey) Item {
		return Item{path, s.Wrap(origin, index, path, k)}
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	bucket(t, func(b *bbolt.Bucket) {
		var conflict *ConflictError
		steps := []struct {
			name string
			do   func() (int, error, error)
			n    int
			want func(error) bool
		}{
			{"put", func() (int, error, error) {
				return Put(b, origin, 1, []Item{item(e0, 1, pa, dk), item(e0, 1, pb, dk2)})
			}, 2, nil},
			{"retry", func() (int, error, error) { return Put(b, origin, 1, []Item{item(e0, 1, pa, dk)}) }, 0, nil},
			{"conflict", func() (int, error, error) { return Put(b, origin, 1, []Item{item(e0, 1, pb, dk)}) }, 0, func(e error) bool { return errors.As(e, &conflict) && conflict.Path == pb }},
			{"other entry", func() (int, error, error) { return Put(b, origin, 2, []Item{item(e0, 2, pa, dk)}) }, 1, nil},
			{"wrong epoch", func() (int, error, error) { return Put(b, origin, 3, []Item{item(e0.Next(), 3, pa, dk)}) }, 0, func(e error) bool { return errors.Is(e, ErrEpoch) }},
			{"erase 1", func() (int, error, error) {
				n, ep, err := Erase(b, origin, 1, ring, now, logger)
				if ep != 1 {
					t.Errorf("erase 1: epoch %d, want 1", ep)
				}
				return n, nil, err
			}, 2, nil},
			{"erase 1 again", func() (int, error, error) {
				n, ep, err := Erase(b, origin, 1, ring, now.Add(time.Hour), logger)
				if ep != 0 {
					t.Errorf("erase again moved the key to epoch %d", ep)
				}
				return n, nil, err
			}, 0, nil},
			{"put after erasure", func() (int, error, error) { return Put(b, origin, 1, []Item{item(e0.Next(), 1, pa, dk)}) }, 0, func(e error) bool { return errors.Is(e, ErrErased) }},
			{"old epoch after erasure", func() (int, error, error) { return Put(b, origin, 3, []Item{item(e0, 3, pa, dk)}) }, 0, func(e error) bool { return errors.Is(e, ErrEpoch) }},
			{"rotate from 1", func() (int, error, error) {
				ep, n, moved, ref, err := Rotate(b, 1, ring, logger)
				if ep != 2 || !moved {
					t.Errorf("rotate: epoch %d moved %v; want 2 true", ep, moved)
				}
				return n, ref, err
			}, 1, nil},
			{"rotate from 1 again", func() (int, error, error) {
				ep, n, moved, ref, err := Rotate(b, 1, ring, logger)
				if ep != 2 || moved {
					t.Errorf("rotate retry: epoch %d moved %v; want 2 false", ep, moved)
				}
				return n, ref, err
			}, 0, nil},
			{"rotate from the future", func() (int, error, error) {
				_, n, _, ref, err := Rotate(b, 5, ring, logger)
				return n, ref, err
			}, 0, func(e error) bool { return errors.Is(e, ErrEpoch) }},
		}
		for _, s := range steps {
			n, refusal, err := s.do()
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if s.want == nil && refusal != nil || s.want != nil && !s.want(refusal) || n != s.n {
				t.Errorf("%s: %d, %v; want %d and another refusal", s.name, n, refusal, s.n)
			}
		}
		if StoredEpoch(b) != 2 {
			t.Errorf("stored epoch %d, want 2", StoredEpoch(b))
		}
		e1 := Read(b, origin, 1)
		e2 := Read(b, origin, 2)
		if !e1.Erased || len(e1.Wrapped) != 0 || e2.Erased || len(e2.Wrapped) != 1 {
			t.Fatalf("after erasure: entry 1 %+v, entry 2 %+v", e1, e2)
		}
		// The ring's file is still at epoch 0 (the caller advances it after
		// the commit): Ratchet derived the later keys from it. What is stored
		// opens under epoch 2 only.
		e2k := e0.Next().Next()
		if got, err := e2k.Unwrap(origin, 2, pa, e2.Wrapped[pa]); err != nil || got != dk {
			t.Errorf("entry 2 under epoch 2: %v", err)
		}
		if _, err := e0.Unwrap(origin, 2, pa, e2.Wrapped[pa][4:]); err == nil {
			t.Error("the epoch-0 key opens a key stored at epoch 2")
		}
	})
}

// FuzzLoadRing: the key file parser never panics, and what it accepts is a
// 32-byte key at an epoch that fits the wrapping's uint32.
func FuzzLoadRing(f *testing.F) {
	f.Add(strings.Repeat("ab", 32) + "\n")
	f.Add(strings.Repeat("ab", 32) + " 7\n")
	f.Add("zz 1")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(dir, "vault.key")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := LoadRing(p)
		if err != nil {
			return
		}
		if st := r.State(); len(st.key) != KeyLen || st.Epoch() > 1<<32-1 {
			t.Errorf("accepted %q as a %d-byte key at epoch %d", s, len(st.key), st.Epoch())
		}
	})
}
