package raftcluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/migrate"
	"go.etcd.io/bbolt"
)

// A replica's raft log and stable store live in <data>/raft/wal/, a
// hashicorp/raft-wal write-ahead log (its own format, documented in the
// library: segment files of framed, checksummed entries appended in
// order, and wal-meta.db, a small bbolt file naming the segments and
// holding the stable store's keys):
//
//	raft/wal/NNNNNNNNNNNNNNNNNNNN-XXXXXXXXXXXXXXXX.wal  segments, walSegmentBytes each (preallocated)
//	raft/wal/wal-meta.db                                 segment list and raft's stable keys
//
// Durability: StoreLogs returns after the entries are written and the
// segment fsync'd (one fdatasync per call); DeleteRange and the stable
// store's Set commit wal-meta.db (fsync'd) before returning. A crash
// before that leaves none of the call's effect visible after the restart
// (raft-wal truncates a torn tail at open), after it all of it.
//
// Why not raft.db (raft-boltdb/v2's bbolt file, used before stop 37): a
// log needs no B-tree. bbolt copied every entry into its pages and
// rewrote the last leaf and the branches above it in each transaction;
// raft-wal appends the encoded entries to the segment and fsyncs it. On
// the same batches of 16 entries of 16 KiB (BenchmarkStoreLogs, CPU by
// /usr/bin/time) the WAL takes 0.31-0.34 ms of CPU per batch, against
// 1.43 for raft-boltdb and 0.73 for stop 36's own writer of raft.db; in
// the 45-member exchange the raft log went from 8.3% of the
// convergence's CPU to 3.6-4.0% (BENCHMARKS.md, stop 37). raft-wal is HashiCorp's log store for
// hashicorp/raft (Consul's "wal" raft log backend); its README still
// calls it experimental. Its crash handling is its own (a torn tail
// segment is recovered at open up to the last whole, checksummed
// entry); this repository's fault drills (20 leader SIGKILLs, a wiped
// follower rejoining by snapshot, the docker suite) run on it.
//
// A data directory written by an earlier build has raft/raft.db and no
// raft/wal/: openLogStore moves it over once (migrateRaftDB). What a
// crash at each step of that leaves, and what the next start does:
//
//	step                                        a crash right after it leaves         next start
//	remove a leftover wal.migrating/, mkdir      raft.db intact, empty wal.migrating/  migrates again
//	copy every entry and stable key into it      raft.db intact, full wal.migrating/   migrates again
//	close the WAL (fsync'd), fsync the dir       as above                              migrates again
//	rename wal.migrating/ to wal/, fsync raft/   raft.db and a complete wal/           removes raft.db
//	remove raft.db, fsync raft/                  wal/ only                             opens wal/
//
// raft.db is read, never written, until the rename, so a failed or
// interrupted migration leaves the replica as it was.
const (
	walDirName       = "wal"
	walMigratingName = "wal.migrating"
	raftDBName       = "raft.db" // the raft log and stable store before stop 37 (raft-boltdb/v2's format)

	// walSegmentBytes is each WAL segment's size, allocated when the
	// segment is made (a longer entry still fits: it seals the segment).
	// raft-wal's default is 64 MiB; the demo and the tests run dozens of
	// replicas on one disk, so segments are 16 MiB. Raft deletes whole
	// segments once a snapshot (every 16,384 entries) leaves all their
	// entries behind its 65,536 trailing ones.
	walSegmentBytes = 16 << 20

	// migrateBatchBytes is how much of raft.db's log is copied per WAL
	// append during a migration.
	migrateBatchBytes = 4 << 20
)

// stableUint64Keys are the stable-store keys hashicorp/raft writes with
// SetUint64 (raft.go: keyCurrentTerm, keyLastVoteTerm). raft-boltdb
// stores those big-endian, raft-wal little-endian: the migration decodes
// and re-encodes them (readStable, copyRaftDB). raft's third key, LastVoteCand, is bytes, copied
// as they are; any other key in raft.db's conf bucket refuses the
// migration (this build would not know how it was encoded).
var stableUint64Keys = []string{"CurrentTerm", "LastVoteTerm"}

var stableBytesKeys = []string{"LastVoteCand"}

// walStore is a replica's raft log and stable store.
type walStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// countingLogs counts the writes of the log store under it (a
// raft.LogCache over the WAL); everything else passes through.
type countingLogs struct {
	raft.LogStore
	writes atomic.Uint64
}

func (c *countingLogs) StoreLog(l *raft.Log) error {
	c.writes.Add(1)
	return c.LogStore.StoreLog(l)
}

func (c *countingLogs) StoreLogs(ls []*raft.Log) error {
	c.writes.Add(1)
	return c.LogStore.StoreLogs(ls)
}

// IsMonotonic passes on the store's raft.MonotonicLogStore answer (the
// WAL's: true). Raft asks it when it installs a snapshot: a monotonic
// store gets its whole log removed, where another is compacted up to the
// snapshot and keeps later entries; the WAL refuses an append that does
// not follow its last entry, so without this a follower that installed a
// snapshot could store nothing after it (TestWipedFollowerRejoins in node).
func (c *countingLogs) IsMonotonic() bool {
	m, ok := c.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

// openLogStore opens the raft log of the raft directory rdir (migrating
// raft.db first if the directory still has one): the WAL (the stable
// store, and what Shutdown closes) and the log store raft uses, the same
// with the latest entries cached in memory (logCacheEntries).
func openLogStore(rdir string, hl hclog.Logger, log *slog.Logger) (walStore, *countingLogs, error) {
	if err := migrateRaftDB(rdir, hl, log); err != nil {
		return nil, nil, fmt.Errorf("moving the raft log from %s to %s/: %w", raftDBName, walDirName, err)
	}
	store, err := openWAL(filepath.Join(rdir, walDirName), hl)
	if err != nil {
		return nil, nil, fmt.Errorf("opening raft log: %w", err)
	}
	logs, err := raft.NewLogCache(logCacheEntries, store)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, &countingLogs{LogStore: logs}, nil
}

// walLog is a raft-wal WAL that keeps raft's LogStore contract for
// compacted entries (GetLog).
type walLog struct{ *wal.WAL }

// GetLog answers raft.ErrLogNotFound for an index below the first one,
// as raft's LogStore contract says: raft-wal v0.4.2 still answers an
// entry a head truncation (DeleteRange after a snapshot) removed while
// it is in the segment being written (state.getLog reads the tail
// segment without checking the first index), and raft decides from
// ErrLogNotFound to send a follower a snapshot instead.
func (w walLog) GetLog(index uint64, l *raft.Log) error {
	first, err := w.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return raft.ErrLogNotFound
	}
	return w.WAL.GetLog(index, l)
}

func openWAL(dir string, hl hclog.Logger) (walLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return walLog{}, err
	}
	if hl == nil {
		hl = hclog.NewNullLogger()
	}
	w, err := wal.Open(dir, wal.WithSegmentSize(walSegmentBytes), wal.WithLogger(hl.Named("wal")))
	if err != nil {
		return walLog{}, err
	}
	return walLog{w}, nil
}

// migrateRaftDB moves rdir's raft.db into a new WAL (see the crash table
// above); nothing to do if there is no raft.db.
func migrateRaftDB(rdir string, hl hclog.Logger, log *slog.Logger) error {
	old := filepath.Join(rdir, raftDBName)
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	done := filepath.Join(rdir, walDirName)
	if _, err := os.Stat(done); err == nil {
		// The rename happened: raft.db is a leftover of a finished move.
		if err := os.Remove(old); err != nil {
			return err
		}
		return syncDir(rdir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp := filepath.Join(rdir, walMigratingName)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if log != nil {
		log.Info("moving the raft log from raft.db to a write-ahead log (once; raft.db is removed after)", "from", old, "to", done)
	}
	n, err := copyRaftDB(old, tmp, hl)
	if err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, done); err != nil {
		return err
	}
	if err := syncDir(rdir); err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if log != nil {
		log.Info("raft log moved from raft.db to a write-ahead log", "dir", done, "entries", n)
	}
	return syncDir(rdir)
}

// copyRaftDB copies every log entry and stable key of the raft-boltdb
// file old into a new WAL in dir, closed (fsync'd) when it returns
// without error; it returns how many entries it copied.
func copyRaftDB(old, dir string, hl hclog.Logger) (uint64, error) {
	stable, err := readStable(old)
	if err != nil {
		return 0, err
	}
	src, err := raftboltdb.New(raftboltdb.Options{Path: old, BoltOptions: &bbolt.Options{ReadOnly: true}})
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", old, err)
	}
	defer src.Close()
	dst, err := openWAL(dir, hl)
	if err != nil {
		return 0, err
	}
	n, err := copyLog(dst, src)
	for k, v := range stable {
		if err != nil {
			break
		}
		if slices.Contains(stableUint64Keys, k) {
			err = dst.SetUint64([]byte(k), binary.BigEndian.Uint64(v))
		} else {
			err = dst.Set([]byte(k), v)
		}
	}
	return n, errors.Join(err, dst.Close())
}

func copyLog(dst walLog, src *raftboltdb.BoltStore) (uint64, error) {
	first, err := src.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := src.LastIndex()
	if err != nil {
		return 0, err
	}
	if last == 0 { // an empty log
		return 0, nil
	}
	if err := migrate.CopyLogs(context.Background(), dst, src, migrateBatchBytes, nil); err != nil {
		return 0, err
	}
	if f, _ := dst.FirstIndex(); f != first {
		return 0, fmt.Errorf("copied log starts at %d, %s's at %d", f, raftDBName, first)
	}
	if l, _ := dst.LastIndex(); l != last {
		return 0, fmt.Errorf("copied log ends at %d, %s's at %d", l, raftDBName, last)
	}
	return last - first + 1, nil
}

// readStable reads the stable keys in the raft-boltdb file old (its conf
// bucket), refusing a key raft does not write (stableUint64Keys,
// stableBytesKeys) or a uint64 key of another length than 8 bytes; the
// error names the file and says it was left as it was.
func readStable(old string) (map[string][]byte, error) {
	db, err := bbolt.Open(old, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", old, err)
	}
	defer db.Close()
	stable := map[string][]byte{}
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("conf"))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			switch {
			case slices.Contains(stableUint64Keys, string(k)):
				if len(v) != 8 {
					return fmt.Errorf("stable key %s is %d bytes, want 8", k, len(v))
				}
			case slices.Contains(stableBytesKeys, string(k)):
			default:
				return fmt.Errorf("stable key %q is not one raft writes", bytes.Clone(k))
			}
			stable[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w; this build cannot move it, and left it and the replica as they were (run the replica with the build it ran before, or restore its raft/ directory from a backup)", old, err)
	}
	return stable, nil
}

// syncDir fsyncs a directory, so the entries made or removed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
