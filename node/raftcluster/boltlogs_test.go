package raftcluster

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

func sampleLog(i uint64, size int) *raft.Log {
	return &raft.Log{Index: i, Term: i/3 + 1, Type: raft.LogType(i % 6), Data: bytes.Repeat([]byte{byte(i)}, size),
		Extensions: []byte(fmt.Sprintf("ext-%d", i)), AppendedAt: time.Date(2026, 12, 7, 22, 0, 0, int(i), time.UTC)}
}

// rawLogs reads raft.db's logs bucket as stored, key -> value.
func rawLogs(t *testing.T, path string) map[string][]byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]byte{}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("logs")).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBoltLogsFileCompatible: raft.db written by boltLogs holds byte for
// byte what raft-boltdb/v2 writes for the same entries (so a data
// directory moves between the builds before and after stop 36 either
// way), and each reads what the other wrote: entries, the stable store's
// keys, first and last index.
func TestBoltLogsFileCompatible(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "ours.db"), filepath.Join(dir, "theirs.db")
	var logs []*raft.Log
	for i := uint64(1); i <= 40; i++ {
		logs = append(logs, sampleLog(i, int(i)*997%70000))
	}
	o, err := openBoltLogs(ours, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := raftboltdb.NewBoltStore(theirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []raft.LogStore{o, r} {
		if err := s.StoreLogs(logs[:25]); err != nil {
			t.Fatal(err)
		}
		for _, l := range logs[25:] {
			if err := s.StoreLog(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range []raft.StableStore{o, r} {
		if err := s.Set([]byte("LastVoteCand"), []byte("zj-2")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()
	r.Close()
	a, b := rawLogs(t, ours), rawLogs(t, theirs)
	if len(a) != 40 || len(b) != 40 {
		t.Fatalf("%d and %d entries stored, want 40", len(a), len(b))
	}
	for k, v := range b {
		if !bytes.Equal(a[k], v) {
			t.Fatalf("entry %x: boltLogs stored %d bytes %.32x..., raft-boltdb %d bytes %.32x...", k, len(a[k]), a[k], len(v), v)
		}
	}
	// Each opens the other's file.
	o, err = openBoltLogs(theirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	r, err = raftboltdb.NewBoltStore(ours)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, s := range []interface {
		raft.LogStore
		raft.StableStore
	}{o, r} {
		first, err1 := s.FirstIndex()
		last, err2 := s.LastIndex()
		if first != 1 || last != 40 || err1 != nil || err2 != nil {
			t.Fatalf("%T: first %d, last %d (%v, %v)", s, first, last, err1, err2)
		}
		for _, want := range logs {
			var got raft.Log
			if err := s.GetLog(want.Index, &got); err != nil {
				t.Fatal(err)
			}
			if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type || !bytes.Equal(got.Data, want.Data) ||
				!bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
				t.Fatalf("%T read entry %d as %+v", s, want.Index, got)
			}
		}
		if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "zj-2" {
			t.Fatalf("%T: Get = %q, %v", s, v, err)
		}
		if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
			t.Fatalf("%T: GetUint64 = %d, %v", s, v, err)
		}
	}
}

// TestBoltLogsStore: what raft relies on from a log and stable store.
func TestBoltLogsStore(t *testing.T) {
	s, err := openBoltLogs(filepath.Join(t.TempDir(), raftDBName), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if f, _ := s.FirstIndex(); f != 0 {
		t.Fatalf("empty store: first index %d", f)
	}
	var l raft.Log
	if err := s.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog on an empty store: %v, want raft.ErrLogNotFound", err)
	}
	// raft matches a stable key never set by its text.
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("GetUint64 of a key never set: %v, want \"not found\"", err)
	}
	var batch []*raft.Log
	for i := uint64(5); i <= 20; i++ {
		batch = append(batch, sampleLog(i, 3000))
	}
	batch[3].Data = make([]byte, 200000) // longer than the others: past any bound kept from before
	if err := s.StoreLogs(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(5, 9); err != nil {
		t.Fatal(err)
	}
	f, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if f != 10 || last != 20 {
		t.Fatalf("after DeleteRange(5, 9): first %d, last %d; want 10, 20", f, last)
	}
	if err := s.GetLog(9, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(9) after its deletion: %v", err)
	}
	// A decoded entry does not share bbolt's memory or another entry's:
	// entry 10's Data outlives decoding entry 12 into the same raft.Log,
	// and both outlive the store (bbolt unmaps its file at Close: Data
	// left in it would fault when read).
	var a, b raft.Log
	if err := s.GetLog(10, &a); err != nil {
		t.Fatal(err)
	}
	if err := s.GetLog(11, &b); err != nil {
		t.Fatal(err)
	}
	ten := a.Data
	if err := s.GetLog(12, &a); err != nil || a.Index != 12 || a.Extensions == nil || string(a.Extensions) != "ext-12" {
		t.Fatalf("GetLog(12) into a used raft.Log: %+v, %v", a.Index, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ten, batch[5].Data) || !bytes.Equal(b.Data, batch[6].Data) || !bytes.Equal(a.Data, batch[7].Data) || b.Index != 11 {
		t.Fatalf("entries 10, 11 and 12 read back as %d, %d (index %d) and %d bytes", len(ten), len(b.Data), b.Index, len(a.Data))
	}
}

// FuzzBoltLogsEncoding: every entry boltLogs encodes in one batch is
// what raft-boltdb/v2 encodes for it alone (a new MsgpackHandle with
// TimeNotBuiltin and a bytes.Buffer, its util.go), however the batch's
// sizes fall against the buffer kept from the batch before.
func FuzzBoltLogsEncoding(f *testing.F) {
	f.Add(uint64(1), uint64(1), uint8(0), 10, 0, int64(0), 3)
	f.Add(uint64(1<<63), uint64(99), uint8(5), 70000, 300, int64(-1), 1)
	f.Add(uint64(7), uint64(2), uint8(2), 0, 0, int64(1<<40), 9)
	s, err := openBoltLogs(filepath.Join(f.TempDir(), raftDBName), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, index, term uint64, typ uint8, size, ext int, nanos int64, n int) {
		size, ext, n = size&0x1ffff, ext&0xfff, n%8+1
		var logs []*raft.Log
		for i := range n {
			l := &raft.Log{Index: index + uint64(i), Term: term, Type: raft.LogType(typ), Data: bytes.Repeat([]byte{byte(i)}, size*(i+1)/n),
				Extensions: bytes.Repeat([]byte{'x'}, ext), AppendedAt: time.Unix(0, nanos).UTC()}
			if ext == 0 {
				l.Extensions = nil
			}
			logs = append(logs, l)
		}
		if err := s.StoreLogs(logs); err != nil {
			t.Fatal(err)
		}
		err := s.db.View(func(tx *bbolt.Tx) error {
			for _, l := range logs {
				var want bytes.Buffer
				if err := codec.NewEncoder(&want, &codec.MsgpackHandle{BasicHandle: codec.BasicHandle{TimeNotBuiltin: true}}).Encode(l); err != nil {
					return err
				}
				got := tx.Bucket(bucketLogs).Get(uint64Key(l.Index))
				if !bytes.Equal(got, want.Bytes()) {
					return fmt.Errorf("entry %d: stored %d bytes, raft-boltdb's encoding is %d", l.Index, len(got), want.Len())
				}
				if len(got) > len(l.Data)+len(l.Extensions)+logOverhead {
					return fmt.Errorf("entry %d: %d bytes of msgpack past Data and Extensions, logOverhead is %d", l.Index, len(got)-len(l.Data)-len(l.Extensions), logOverhead)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkStoreLogs: raft-boltdb/v2's StoreLogs and boltLogs' on the
// same batches (16 entries of 16 KiB, fsync'd), CPU and allocation per
// batch.
func BenchmarkStoreLogs(b *testing.B) {
	for _, name := range []string{"raft-boltdb", "boltLogs"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, name)
			next := uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				var batch []*raft.Log
				for range 16 {
					batch = append(batch, sampleLog(next, 16<<10))
					next++
				}
				if err := s.StoreLogs(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetLog: raft-boltdb/v2's GetLog and boltLogs' reading back
// 16 KiB entries (a leader sending entries past its LogCache to a
// follower, or a follower applying them).
func BenchmarkGetLog(b *testing.B) {
	for _, name := range []string{"raft-boltdb", "boltLogs"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, name)
			var batch []*raft.Log
			for i := uint64(1); i <= 256; i++ {
				batch = append(batch, sampleLog(i, 16<<10))
			}
			if err := s.StoreLogs(batch); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := uint64(0)
			for b.Loop() {
				var l raft.Log
				if err := s.GetLog(i%256+1, &l); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// benchStore opens a new raft.db in b's temporary directory with the
// store named ("boltLogs" or "raft-boltdb"), closed when b ends.
func benchStore(b *testing.B, name string) raft.LogStore {
	path := filepath.Join(b.TempDir(), raftDBName)
	if name == "boltLogs" {
		o, err := openBoltLogs(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { o.Close() })
		return o
	}
	r, err := raftboltdb.NewBoltStore(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}
