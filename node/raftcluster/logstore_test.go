package raftcluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// TestLogStoreCachesRecentEntries: the log store a replica's raft uses
// serves the latest entries from memory (the WAL closed, they still
// read back byte for byte), caches only what the WAL stored, and a
// compaction (DeleteRange) empties the cache, so no deleted entry is
// served from it.
func TestLogStoreCachesRecentEntries(t *testing.T) {
	store, logs, err := openLogStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i uint64) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(i)}, 100)}
	}
	if err := logs.StoreLogs([]*raft.Log{entry(1), entry(2), entry(3)}); err != nil {
		t.Fatal(err)
	}
	if err := logs.DeleteRange(1, 1); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := logs.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(1) after DeleteRange(1, 1) = %v, want ErrLogNotFound", err)
	}
	if err := logs.StoreLogs([]*raft.Log{entry(4)}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// The WAL is closed: what reads back now came from the cache.
	if err := logs.GetLog(4, &l); err != nil {
		t.Fatalf("GetLog(4), stored after the compaction, WAL closed: %v (not cached)", err)
	}
	if l.Index != 4 || !bytes.Equal(l.Data, entry(4).Data) {
		t.Fatalf("GetLog(4) = index %d, data %x...", l.Index, l.Data[:4])
	}
	if err := logs.GetLog(2, &l); err == nil {
		t.Fatal("GetLog(2) answered from the cache after a compaction emptied it")
	}
	// A store that failed caches nothing.
	if err := logs.StoreLogs([]*raft.Log{entry(5)}); err == nil {
		t.Fatal("StoreLogs on a closed WAL succeeded")
	}
	if err := logs.GetLog(5, &l); err == nil {
		t.Fatal("GetLog(5): an entry the WAL refused was cached")
	}
	if got := logs.writes.Load(); got != 3 { // LogWrites: every StoreLogs, the failed one too
		t.Fatalf("counted %d log writes, want 3", got)
	}
	// Raft sees the WAL's monotonic appends through the cache and the
	// counter: it then clears the whole log when it installs a snapshot.
	if m, ok := raft.LogStore(logs).(raft.MonotonicLogStore); !ok || !m.IsMonotonic() {
		t.Fatal("the log store raft is given does not say it is monotonic")
	}
}

// oldLog is entry i of the raft.db the migration tests write: commands of
// varied sizes (one larger than a migration batch), a configuration and
// a no-op, extensions and an append time, so every field of raft.Log is
// compared after the move.
func oldLog(i uint64) *raft.Log {
	l := &raft.Log{Index: i, Term: 3 + i/100, Type: raft.LogCommand, AppendedAt: time.Unix(1796691279, int64(i)).UTC()}
	switch {
	case i == 120:
		l.Data = bytes.Repeat([]byte{0xab}, migrateBatchBytes+1)
	case i%50 == 0:
		l.Type, l.Data = raft.LogConfiguration, []byte("configuration "+string(rune('a'+i%26)))
	case i%37 == 0:
		l.Type = raft.LogNoop
	default:
		l.Data = bytes.Repeat([]byte{byte(i)}, int(i%7)*1000+1)
		l.Extensions = []byte{byte(i), 1}
	}
	return l
}

const oldFirst, oldLast = 17, 300

// writeRaftDB writes rdir/raft.db as a build before stop 37 left it:
// raft-boltdb/v2's store holding entries oldFirst..oldLast (the earlier
// ones compacted away) and raft's three stable keys, plus extra keys in
// its conf bucket if given.
func writeRaftDB(t *testing.T, rdir string, extra map[string][]byte) {
	t.Helper()
	path := filepath.Join(rdir, raftDBName)
	s, err := raftboltdb.NewBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var batch []*raft.Log
	for i := uint64(1); i <= oldLast; i++ {
		batch = append(batch, oldLog(i))
	}
	if err := s.StoreLogs(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, oldFirst-1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 6); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("LastVoteTerm"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("zj-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(extra) == 0 {
		return
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		for k, v := range extra {
			if err := tx.Bucket([]byte("conf")).Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// checkMoved fails t unless s holds exactly raft.db's entries and stable
// keys as writeRaftDB wrote them.
func checkMoved(t *testing.T, s walStore) {
	t.Helper()
	if f, err := s.FirstIndex(); err != nil || f != oldFirst {
		t.Fatalf("FirstIndex = %d, %v; want %d", f, err, oldFirst)
	}
	if l, err := s.LastIndex(); err != nil || l != oldLast {
		t.Fatalf("LastIndex = %d, %v; want %d", l, err, oldLast)
	}
	for i := uint64(oldFirst); i <= oldLast; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		want := oldLog(i)
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
			!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("entry %d moved as index %d term %d type %v, %d data bytes, extensions %x, appended %v; want term %d type %v, %d bytes, %x, %v",
				i, got.Index, got.Term, got.Type, len(got.Data), got.Extensions, got.AppendedAt, want.Term, want.Type, len(want.Data), want.Extensions, want.AppendedAt)
		}
	}
	var l raft.Log
	if err := s.GetLog(oldFirst-1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(%d), compacted in raft.db: %v, want ErrLogNotFound", oldFirst-1, err)
	}
	for k, want := range map[string]uint64{"CurrentTerm": 6, "LastVoteTerm": 5} {
		if v, err := s.GetUint64([]byte(k)); err != nil || v != want {
			t.Fatalf("stable %s = %d, %v; want %d", k, v, err, want)
		}
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "zj-2" {
		t.Fatalf("stable LastVoteCand = %q, %v; want zj-2", v, err)
	}
}

// TestMigrateRaftDB: a raft directory written before stop 37 (raft.db) is
// moved to the WAL at open with every entry, field for field, and raft's
// stable keys (terms re-encoded: raft-boltdb writes them big-endian,
// raft-wal little-endian), raft.db is removed, and the WAL goes on from
// there across a reopen. Each state a crash can leave (logstore.go's
// table) ends the same way at the next open, and a raft.db this build
// cannot move is refused with the reason and left as it was.
func TestMigrateRaftDB(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, rdir string)
	}{
		{"raft.db only", func(t *testing.T, rdir string) {}},
		{"crash during the copy", func(t *testing.T, rdir string) {
			// A partial copy: some entries in wal.migrating/, garbage beside them.
			tmp := filepath.Join(rdir, walMigratingName)
			w, err := openWAL(tmp, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.StoreLogs([]*raft.Log{oldLog(oldFirst), oldLog(oldFirst + 1)}); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if err := os.WriteFile(filepath.Join(tmp, "torn"), []byte("half a segment"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"crash after the rename", func(t *testing.T, rdir string) {
			// The move finished (wal/ complete) but raft.db was not removed:
			// the WAL is what counts, raft.db is not read again.
			if err := migrateRaftDB(rdir, nil, nil); err != nil {
				t.Fatal(err)
			}
			writeRaftDB(t, rdir, nil)
			db, err := raftboltdb.NewBoltStore(filepath.Join(rdir, raftDBName))
			if err != nil {
				t.Fatal(err)
			}
			// Were raft.db moved again, the test would see term 99.
			if err := db.SetUint64([]byte("CurrentTerm"), 99); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdir := t.TempDir()
			writeRaftDB(t, rdir, nil)
			tc.setup(t, rdir)
			var logged strings.Builder
			log := slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil))
			store, logs, err := openLogStore(rdir, nil, log)
			if err != nil {
				t.Fatal(err)
			}
			checkMoved(t, store)
			for _, gone := range []string{raftDBName, walMigratingName} {
				if _, err := os.Stat(filepath.Join(rdir, gone)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s still there after the move (%v)", gone, err)
				}
			}
			if tc.name != "crash after the rename" && !strings.Contains(logged.String(), "entries=284") {
				t.Fatalf("the move was not logged with its entry count: %q", logged.String())
			}
			// The log goes on from raft.db's last entry, and stays across a reopen.
			next := &raft.Log{Index: oldLast + 1, Term: 7, Type: raft.LogCommand, Data: []byte("after the move")}
			if err := logs.StoreLogs([]*raft.Log{next}); err != nil {
				t.Fatal(err)
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			store, _, err = openLogStore(rdir, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var l raft.Log
			if err := store.GetLog(oldLast+1, &l); err != nil || string(l.Data) != "after the move" {
				t.Fatalf("entry %d after reopening: %q, %v", oldLast+1, l.Data, err)
			}
			if err := store.GetLog(oldLast, &l); err != nil || !bytes.Equal(l.Data, oldLog(oldLast).Data) {
				t.Fatalf("entry %d after reopening: %v", oldLast, err)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			extra map[string][]byte
			want  string
		}{
			{"unknown key", map[string][]byte{"NextPeer": []byte("x")}, `stable key "NextPeer" is not one raft writes`},
			{"short term", map[string][]byte{"CurrentTerm": {1, 2}}, "stable key CurrentTerm is 2 bytes, want 8"},
		} {
			rdir := t.TempDir()
			writeRaftDB(t, rdir, tc.extra)
			before, err := os.ReadFile(filepath.Join(rdir, raftDBName))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := openLogStore(rdir, nil, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: open = %v, want an error saying %q", tc.name, err, tc.want)
			}
			after, err := os.ReadFile(filepath.Join(rdir, raftDBName))
			if err != nil || !bytes.Equal(before, after) {
				t.Fatalf("%s: raft.db changed by a refused move (%v)", tc.name, err)
			}
			if _, err := os.Stat(filepath.Join(rdir, walDirName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: wal/ made by a refused move (%v)", tc.name, err)
			}
		}
	})
}

// TestOpenMovesARunningLog: a replica that ran on raft.db (raft with
// raft-boltdb/v2, as builds before stop 37) is opened with Open: it keeps
// its term (elects itself in a later one), applies every command it had
// committed again (raft replays the log from the start on a restart
// without a snapshot), and appends after them.
func TestOpenMovesARunningLog(t *testing.T) {
	dir := t.TempDir()
	rdir := filepath.Join(dir, DirName)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		t.Fatal(err)
	}
	tuning := Tuning{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	servers := raft.Configuration{Servers: []raft.Server{{ID: "a", Address: raft.ServerAddress(addr)}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The old build: raft on raft.db.
	old, err := raftboltdb.NewBoltStore(filepath.Join(rdir, raftDBName))
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(rdir, snapshotsKept, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := tuning.config("a", hclog.NewNullLogger())
	nt, trans := newTransport(tcpStream{l}, tuning.maxAppendBytes(), transportTimeout, hclog.NewNullLogger())
	if err := raft.BootstrapCluster(cfg, old, old, snaps, trans, servers); err != nil {
		t.Fatal(err)
	}
	fsm := &countFSM{}
	r, err := raft.NewRaft(cfg, fsm, old, old, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Replica{Raft: r}).WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	const commands = 40
	for i := range commands {
		if err := r.Apply([]byte{byte(i)}, 5*time.Second).Error(); err != nil {
			t.Fatal(err)
		}
	}
	oldTerm := termOf(t, r)
	oldLast := r.LastIndex()
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	nt.Close()
	old.Close()

	// This build: Open moves raft.db to the WAL.
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fsm = &countFSM{}
	rep, err := Open(dir, "a", tuning, nil, false, fsm, tcpStream{l}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Shutdown()
	if _, err := os.Stat(filepath.Join(rdir, raftDBName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("raft.db still there after Open (%v)", err)
	}
	if err := rep.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rep.Raft.Apply([]byte("after"), 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if got := fsm.applied.Load(); got != commands+1 {
		t.Fatalf("the FSM applied %d commands after the move, want the %d committed before it and 1 after", got, commands)
	}
	if term := termOf(t, rep.Raft); term <= oldTerm {
		t.Fatalf("term %d after the move, not after %d: the stable store's term was lost", term, oldTerm)
	}
	if last := rep.Raft.LastIndex(); last <= oldLast {
		t.Fatalf("last index %d after the move and an append, was %d", last, oldLast)
	}
	if rep.LogWrites() == 0 {
		t.Fatal("no log writes counted after the move")
	}
}

// termOf is r's current term.
func termOf(t *testing.T, r *raft.Raft) uint64 {
	t.Helper()
	term, err := strconv.ParseUint(r.Stats()["term"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// syncWriter serializes writes to w (slog handlers write from any goroutine).
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// BenchmarkStoreLogs: raft-boltdb/v2's StoreLogs (raft.db before stop 37)
// and raft-wal's (the store now) on the same batches: 16 entries of
// 16 KiB, fsync'd. Run with -cpuprofile or /usr/bin/time for the CPU:
// ns/op is mostly the fsync's wait.
func BenchmarkStoreLogs(b *testing.B) {
	for _, name := range []string{"raft-boltdb", "raft-wal"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, name)
			next := uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				var batch []*raft.Log
				for range 16 {
					batch = append(batch, &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(next)}, 16<<10)})
					next++
				}
				if err := s.StoreLogs(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchStore opens a new store of the kind named in b's temporary
// directory, closed when b ends.
func benchStore(b *testing.B, name string) raft.LogStore {
	if name == "raft-wal" {
		w, err := openWAL(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { w.Close() })
		return w
	}
	r, err := raftboltdb.NewBoltStore(filepath.Join(b.TempDir(), raftDBName))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}
