// Package startcheck is the start-up integrity check of a replica's
// ledger.db (issue 11 item 6): before a replica serves anything or builds on
// ledger.db it checks what it would serve:
//
//   - both bbolt meta pages (bbolt silently opens a file whose newest meta
//     page is damaged at the previous commit: a rollback);
//   - every page of the file (bbolt's consistency check; bbolt panics on
//     some damaged pages, which become errors naming the page);
//   - every log with a known key: every entry against its hash tile, the
//     tree against every stored tile, the latest stored checkpoint's
//     signature and root;
//   - the region's latest signed checkpoint as last written next to the
//     file (ledger.checkpoint, rewritten by [Saver] after every applied
//     batch that grew the ledger): ledger.db must still hold that tree (no
//     rollback, no fork);
//   - raft: ledger.db must have applied at least up to raft's latest
//     snapshot, because raft restarts from that snapshot's index
//     (NoSnapshotRestoreOnStart) and would never replay what lies between.
//
// It owns the checkpoint file (its name, its atomic rewrite) and the
// reading of raft's snapshot directory; it reads ledger.db only through
// package ledger and never writes it. Package node calls it from New
// (node/startcheck.go) and creditx verify through node.CheckRollback.
//
// # Failures
//
// Any failure is a [*StartError] naming the file, the check and the entry
// index or page; a ledger.db older than what was signed or compacted away
// also matches [ErrRolledBack]. A damaged meta page that lost nothing
// signed (the newest commit was interrupted by a crash before
// ledger.checkpoint was rewritten: a torn meta write, which bbolt's two meta
// pages exist for) is only logged: raft replays the lost commit.
package startcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// CheckpointFileName holds the latest checkpoint this replica signed for the
// region's ledger (a C2SP signed note), outside ledger.db so that a rollback
// of ledger.db cannot roll it back too. Written without fsync after each
// commit: after a power loss it may be older than ledger.db, never newer.
const CheckpointFileName = "ledger.checkpoint"

// StartError is why a replica refuses to start: its stored state is damaged
// or older than what it already signed or raft already compacted.
type StartError struct {
	Path  string // the file found wanting
	Check string // "meta pages", "pages", "log", "signed checkpoint", "raft"
	Index int64  // the failing entry index, or -1
	Err   error
}

func (e *StartError) Error() string {
	at := ""
	if e.Index >= 0 {
		at = fmt.Sprintf(" at entry %d", e.Index)
	}
	return fmt.Sprintf("refusing to start: %s: %s check failed%s: %v", e.Path, e.Check, at, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// ErrRolledBack marks a StartError (or a CheckRollback error) for a
// ledger.db older than what was already signed or compacted away by raft.
// Match with errors.Is.
var ErrRolledBack = errors.New("ledger.db rolled back")

// Meta reads ledger.db's meta pages before bbolt opens the file (nil if
// the file does not exist yet). A file neither of whose meta pages is valid
// refuses to start.
//
// A replica without ledger.db is new or was wiped on purpose to catch up
// from its peers (a snapshot from the leader): what an earlier ledger.db
// signed no longer binds it, so its checkpoint file is removed.
func Meta(path string, logger *slog.Logger) (*ledger.MetaState, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		cpFile := filepath.Join(filepath.Dir(path), CheckpointFileName)
		if err := os.Remove(cpFile); err == nil {
			logger.Warn("no ledger.db: starting as a new replica; removed the checkpoint file of the previous one", "file", cpFile)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, nil
	}
	ms, err := ledger.ReadMetaPages(path)
	if err != nil {
		return nil, &StartError{Path: path, Check: "meta pages", Index: -1, Err: err}
	}
	return ms, nil
}

// Check runs the checks on the opened store s of dataDir: every page,
// every log with a key in verifiers, and the checkpoint file against the
// log of origin. ms is Meta's result (nil: no meta-page damage to report).
func Check(ctx context.Context, s *ledger.Store, dataDir string, ms *ledger.MetaState,
	origin string, verifiers map[string]note.Verifier, logger *slog.Logger) error {
	path := s.Path()
	t0 := time.Now()
	if err := s.CheckPages(ctx); err != nil {
		return &StartError{Path: path, Check: "pages", Index: -1, Err: err}
	}
	origins, err := s.Origins()
	if err != nil {
		return &StartError{Path: path, Check: "pages", Index: -1, Err: err}
	}
	entries := uint64(0)
	for _, o := range origins {
		v, ok := verifiers[o]
		if !ok {
			continue
		}
		if _, err := s.CheckLog(ctx, o, v); err != nil {
			idx := int64(-1)
			var ve *ledger.VerifyError
			if errors.As(err, &ve) {
				idx = ve.Index
			}
			return &StartError{Path: path, Check: "log " + o, Index: idx, Err: err}
		}
		n, _ := s.Log(o).Size()
		entries += n
	}
	var metaErr error
	if ms != nil {
		metaErr = ms.Error(path)
	}
	if err := CheckSignedCheckpoint(s, dataDir, origin, verifiers[origin]); err != nil {
		var se *StartError
		if metaErr != nil && errors.As(err, &se) {
			se.Err = fmt.Errorf("%w (cause: %w)", se.Err, metaErr)
		}
		return err
	}
	if metaErr != nil {
		logger.Warn("ledger.db: a meta page is damaged but nothing signed was lost (a commit torn by a crash?); raft replays it",
			"err", metaErr)
	}
	logger.Info("ledger.db checked", "logs", len(origins), "entries", entries, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// CheckSignedCheckpoint compares the log of origin in s with the checkpoint
// file of dataDir (checked with v). No file, or v nil: nothing to compare.
func CheckSignedCheckpoint(s *ledger.Store, dataDir, origin string, v note.Verifier) error {
	file := filepath.Join(dataDir, CheckpointFileName)
	signed, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) || v == nil {
		return nil
	}
	fail := func(index int64, err error) error {
		return &StartError{Path: s.Path(), Check: "signed checkpoint", Index: index, Err: err}
	}
	if err != nil {
		return fail(-1, err)
	}
	cp, err := ledger.OpenCheckpoint(signed, origin, v)
	if err != nil {
		return fail(-1, fmt.Errorf("%s: %w", file, err))
	}
	size, err := s.Log(origin).Size()
	if err != nil {
		return fail(-1, err)
	}
	if size < cp.Size {
		return fail(int64(size), fmt.Errorf("%w: %s holds %d entries but this replica signed a checkpoint at size %d (%s)",
			ErrRolledBack, origin, size, cp.Size, file))
	}
	root, err := s.Log(origin).TreeHash(cp.Size)
	if err != nil {
		return fail(-1, err)
	}
	if root != cp.Root {
		return fail(int64(cp.Size), fmt.Errorf("%s: the tree at size %d does not match the checkpoint this replica signed (%s)",
			origin, cp.Size, file))
	}
	return nil
}

// RaftApplied refuses a ledger.db (at path) that applied raft entries only
// up to applied, less than the latest snapshot in raft directory rdir: raft
// restarts at the snapshot's index and would skip the rest. No raft
// directory or snapshot yet: nothing to compare.
//
// A snapshot's index counts raft's own no-op and barrier entries, which
// never reach the FSM: a snapshot taken right after an election is labelled
// with the no-op's index while the ledger.db inside it applied only up to
// the command before. snapApplied (nil: not asked) reads the applied index
// stored in the snapshot's own state (its directory given); a ledger.db
// that applied at least that much holds every command up to the snapshot's
// index, and is not refused.
func RaftApplied(rdir, path string, applied uint64, snapApplied func(snapDir string) (uint64, error)) error {
	snap, dir, err := latestRaftSnapshot(rdir)
	if err != nil {
		return &StartError{Path: path, Check: "raft", Index: -1, Err: err}
	}
	if snap <= applied {
		return nil
	}
	if snapApplied != nil {
		inSnap, err := snapApplied(dir)
		if err != nil {
			return &StartError{Path: path, Check: "raft", Index: -1, Err: fmt.Errorf("reading the applied index in raft snapshot %s: %w", dir, err)}
		}
		if inSnap <= applied && inSnap <= snap {
			return nil // the entries applied+1..snap are raft's own, none a command
		}
	}
	return &StartError{Path: path, Check: "raft", Index: -1, Err: fmt.Errorf(
		"%w: it applied raft entries up to %d, but raft's latest snapshot is at %d and raft resumes after it, so entries %d..%d would never be applied",
		ErrRolledBack, applied, snap, applied+1, snap)}
}

// LatestRaftSnapshot reads the index of the latest complete snapshot in a
// raft.FileSnapshotStore directory (rdir/snapshots/<id>/meta.json; ids
// ending in ".tmp" are incomplete) without opening the store, which would
// write to the directory. 0 if there is none.
func LatestRaftSnapshot(rdir string) (uint64, error) {
	i, _, err := latestRaftSnapshot(rdir)
	return i, err
}

// latestRaftSnapshot is LatestRaftSnapshot with the snapshot's directory.
func latestRaftSnapshot(rdir string) (uint64, string, error) {
	ents, err := os.ReadDir(filepath.Join(rdir, "snapshots"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var latest uint64
	var dir string
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		d := filepath.Join(rdir, "snapshots", e.Name())
		b, err := os.ReadFile(filepath.Join(d, "meta.json"))
		if err != nil {
			continue // raft ignores such a snapshot too
		}
		var m struct{ Index uint64 }
		if err := json.Unmarshal(b, &m); err != nil {
			return 0, "", fmt.Errorf("raft snapshot %s: meta.json: %w", e.Name(), err)
		}
		if m.Index >= latest {
			latest, dir = m.Index, d
		}
	}
	return latest, dir, nil
}

// Rollback reports whether ledger.db (opened as s from a replica's
// dataDir, raft directory rdir) is older than what the replica already
// signed (dataDir/ledger.checkpoint, checked with the verifier of the origin
// it names; unknown origin: an error) or than raft's latest snapshot: a
// *StartError wrapping the reason. applied reads the last raft index a
// ledger store applied (ledger.db's, and the one in raft's snapshot). Nil
// if dataDir has neither.
func Rollback(dataDir, rdir string, s *ledger.Store, verifiers map[string]note.Verifier, applied func(*ledger.Store) (uint64, error)) error {
	if b, err := os.ReadFile(filepath.Join(dataDir, CheckpointFileName)); err == nil {
		origin, _, _ := strings.Cut(string(b), "\n")
		v, ok := verifiers[origin]
		if !ok {
			return &StartError{Path: s.Path(), Check: "signed checkpoint", Index: -1,
				Err: fmt.Errorf("%s names origin %q, for which no key is trusted", CheckpointFileName, origin)}
		}
		if err := CheckSignedCheckpoint(s, dataDir, origin, v); err != nil {
			return err
		}
	}
	a, err := applied(s)
	if err != nil {
		return err
	}
	return RaftApplied(rdir, s.Path(), a, SnapshotApplied(applied))
}

// SnapshotApplied makes RaftApplied's snapApplied: it opens the ledger
// store a raft snapshot holds (<snapDir>/state.bin, the FSM's snapshot is
// a copy of ledger.db) read-only and reads its applied index with applied.
func SnapshotApplied(applied func(*ledger.Store) (uint64, error)) func(snapDir string) (uint64, error) {
	return func(snapDir string) (uint64, error) {
		st, err := ledger.Open(filepath.Join(snapDir, "state.bin"), ledger.Options{ReadOnly: true})
		if err != nil {
			return 0, err
		}
		defer st.Close()
		return applied(st)
	}
}

// Saver rewrites the checkpoint file after batches that grew the region's
// ledger. Save is called from one goroutine only (the FSM's, after each
// applied batch); a write that fails is logged and retried at the next.
type Saver struct {
	File  string                                   // dataDir/CheckpointFileName
	Read  func() ([]byte, error)                   // the latest signed checkpoint (error: none yet)
	Open  func([]byte) (*ledger.Checkpoint, error) // verify and parse it
	Log   *slog.Logger
	After func() // called after every Save (nil: none)

	size atomic.Uint64 // size of the checkpoint last written
	// seen is the signed checkpoint Save last judged (written, or not
	// larger than the one written): the same bytes are not opened again.
	// Most batches (mirror appends, witness records, the loop log's
	// notices) leave the own checkpoint as it was, and opening it is a
	// signature check (issue 20). Save's goroutine only.
	seen []byte
}

// Save writes the latest checkpoint if it is larger than the one last
// written. A checkpoint byte for byte the one the last call judged is not
// opened again.
func (c *Saver) Save() {
	if c.After != nil {
		defer c.After()
	}
	signed, err := c.Read()
	if err != nil {
		return // no checkpoint yet
	}
	if c.seen != nil && bytes.Equal(signed, c.seen) {
		return
	}
	cp, err := c.Open(signed)
	if err != nil {
		return
	}
	if cp.Size <= c.size.Load() {
		c.seen = signed
		return
	}
	if err := c.write(signed); err != nil {
		c.Log.Error("writing the latest signed checkpoint", "file", c.File, "err", err)
		return
	}
	c.size.Store(cp.Size)
	c.seen = signed
}

// write replaces the file with signed: temporary file, fsync, rename. The
// fsync matters: without it a crash could leave an empty file behind the
// rename, and the replica would then refuse to start over a checkpoint it
// cannot parse. Dying before the rename keeps the previous checkpoint, which
// ledger.db also holds.
func (c *Saver) write(signed []byte) error {
	tmp := c.File + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(signed)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.File)
	}
	return err
}

// OpenError makes err, ledger.Open's failure on the file at path, a
// *StartError if ledger.Open found the file damaged; other errors are
// returned as they are.
func OpenError(path string, err error) error {
	var ce *ledger.CorruptError
	if errors.Is(err, ledger.ErrDamaged) || errors.As(err, &ce) {
		return &StartError{Path: path, Check: "open", Index: -1, Err: err}
	}
	return err
}
