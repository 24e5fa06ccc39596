package node

// Start-up integrity check (issue 11 item 6). Before a replica serves
// anything or builds on ledger.db it checks what it would serve:
//
//   - both bbolt meta pages (bbolt silently opens a file whose newest meta
//     page is damaged at the previous commit: a rollback);
//   - every page of the file (bbolt's consistency check; bbolt panics on
//     some damaged pages, which become errors naming the page);
//   - every log with a known key: every entry against its hash tile, the
//     tree against every stored tile, the latest stored checkpoint's
//     signature and root;
//   - the region's latest signed checkpoint as last written next to the
//     file (ledger.checkpoint, rewritten after every applied batch that
//     grew the ledger): ledger.db must still hold that tree (no rollback,
//     no fork);
//   - raft: ledger.db must have applied at least up to raft's latest
//     snapshot, because raft restarts from that snapshot's index
//     (NoSnapshotRestoreOnStart) and would never replay what lies between.
//
// Any failure refuses to start with a *StartError naming the check and the
// entry index or page. A damaged meta page that lost nothing signed (the
// newest commit was interrupted by a crash before ledger.checkpoint was
// rewritten: a torn meta write, which bbolt's two meta pages exist for) is
// only logged: raft replays the lost commit.

import (
	"context"
	"encoding/binary"
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

// checkpointFileName holds the latest checkpoint this replica signed for the
// region's ledger (a C2SP signed note), outside ledger.db so that a rollback
// of ledger.db cannot roll it back too. Written without fsync after each
// commit: after a power loss it may be older than ledger.db, never newer.
const checkpointFileName = "ledger.checkpoint"

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

// startMeta reads ledger.db's meta pages before bbolt opens the file (nil if
// the file does not exist yet). A file neither of whose meta pages is valid
// refuses to start.
//
// A replica without ledger.db is new or was wiped on purpose to catch up
// from its peers (a snapshot from the leader): what an earlier ledger.db
// signed no longer binds it, so its checkpoint file is removed.
func startMeta(path string, logger *slog.Logger) (*ledger.MetaState, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		cpFile := filepath.Join(filepath.Dir(path), checkpointFileName)
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

// startCheck runs the checks on the opened store; ms is startMeta's result,
// verifiers the key of each log to check.
func startCheck(ctx context.Context, s *ledger.Store, dataDir string, ms *ledger.MetaState,
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
	if err := checkSignedCheckpoint(s, dataDir, origin, verifiers[origin]); err != nil {
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

// checkSignedCheckpoint compares ledger.db with the checkpoint file.
func checkSignedCheckpoint(s *ledger.Store, dataDir, origin string, v note.Verifier) error {
	file := filepath.Join(dataDir, checkpointFileName)
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

// checkRaftApplied refuses a ledger.db that applied less than raft's latest
// snapshot: raft restarts at the snapshot's index and would skip the rest.
// No raft directory or snapshot yet: nothing to compare.
func checkRaftApplied(dataDir, path string, applied uint64) error {
	snap, err := latestRaftSnapshot(filepath.Join(dataDir, raftDirName))
	if err != nil {
		return &StartError{Path: path, Check: "raft", Index: -1, Err: err}
	}
	if snap > applied {
		return &StartError{Path: path, Check: "raft", Index: -1, Err: fmt.Errorf(
			"%w: it applied raft entries up to %d, but raft's latest snapshot is at %d and raft resumes after it, so entries %d..%d would never be applied",
			ErrRolledBack, applied, snap, applied+1, snap)}
	}
	return nil
}

// latestRaftSnapshot reads the index of the latest complete snapshot in a
// raft.FileSnapshotStore directory (rdir/snapshots/<id>/meta.json; ids
// ending in ".tmp" are incomplete) without opening the store, which would
// write to the directory. 0 if there is none.
func latestRaftSnapshot(rdir string) (uint64, error) {
	ents, err := os.ReadDir(filepath.Join(rdir, "snapshots"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var latest uint64
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(rdir, "snapshots", e.Name(), "meta.json"))
		if err != nil {
			continue // raft ignores such a snapshot too
		}
		var m struct{ Index uint64 }
		if err := json.Unmarshal(b, &m); err != nil {
			return 0, fmt.Errorf("raft snapshot %s: meta.json: %w", e.Name(), err)
		}
		latest = max(latest, m.Index)
	}
	return latest, nil
}

// CheckRollback reports, for creditx verify, whether ledger.db (opened as s
// from a replica's dataDir) is older than what the replica already signed
// (dataDir/ledger.checkpoint, checked with the verifier of the origin it
// names; unknown origin: an error) or than raft's latest snapshot: a
// *StartError wrapping the reason. Nil if dataDir has neither.
func CheckRollback(dataDir string, s *ledger.Store, verifiers map[string]note.Verifier) error {
	if b, err := os.ReadFile(filepath.Join(dataDir, checkpointFileName)); err == nil {
		origin, _, _ := strings.Cut(string(b), "\n")
		v, ok := verifiers[origin]
		if !ok {
			return &StartError{Path: s.Path(), Check: "signed checkpoint", Index: -1,
				Err: fmt.Errorf("%s names origin %q, for which no key is trusted", checkpointFileName, origin)}
		}
		if err := checkSignedCheckpoint(s, dataDir, origin, v); err != nil {
			return err
		}
	}
	var applied uint64
	err := s.View(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(fsmBucket); b != nil {
			if v := b.Get([]byte(fsmAppliedKey)); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return checkRaftApplied(dataDir, s.Path(), applied)
}

// checkpointSaver rewrites ledger.checkpoint after batches that grew the
// region's ledger. FSM goroutine only (afterApply).
type checkpointSaver struct {
	file  string
	size  atomic.Uint64 // size of the checkpoint last written
	read  func() ([]byte, error)
	open  func([]byte) (*ledger.Checkpoint, error)
	log   *slog.Logger
	after func()
}

func (c *checkpointSaver) save() {
	if c.after != nil {
		defer c.after()
	}
	signed, err := c.read()
	if err != nil {
		return // no checkpoint yet
	}
	cp, err := c.open(signed)
	if err != nil || cp.Size <= c.size.Load() {
		return
	}
	if err := c.write(signed); err != nil {
		c.log.Error("writing the latest signed checkpoint", "file", c.file, "err", err)
		return
	}
	c.size.Store(cp.Size)
}

// write replaces the file with signed: temporary file, fsync, rename. The
// fsync matters: without it a crash could leave an empty file behind the
// rename, and the replica would then refuse to start over a checkpoint it
// cannot parse. Dying before the rename keeps the previous checkpoint, which
// ledger.db also holds.
func (c *checkpointSaver) write(signed []byte) error {
	tmp := c.file + ".tmp"
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
		err = os.Rename(tmp, c.file)
	}
	return err
}

// checkAtStart runs the start-up checks on the freshly opened fsm store and
// installs the checkpoint saver in front of f.afterApply. Called by New
// after the FSM's hooks are set and before raft starts.
func (n *Node) checkAtStart(ms *ledger.MetaState, accVerifier note.Verifier) error {
	f := n.fsm
	verifiers := map[string]note.Verifier{n.origin: n.logVerifier, n.access: accVerifier}
	if sl, ok := f.logs[n.loopOrigin()]; ok { // loop.go
		verifiers[n.loopOrigin()] = sl.verifier
	}
	for o, v := range f.peers {
		verifiers[o] = v
	}
	if err := n.addLiveVerifiers(verifiers); err != nil { // exchange/live.go: members that joined
		return err
	}
	if err := startCheck(context.Background(), f.store, n.cfg.DataDir, ms, n.origin, verifiers, n.logger); err != nil {
		return err
	}
	applied, err := f.appliedIndex()
	if err != nil {
		return err
	}
	if err := checkRaftApplied(n.cfg.DataDir, f.store.Path(), applied); err != nil {
		return err
	}
	saver := &checkpointSaver{
		file: filepath.Join(n.cfg.DataDir, checkpointFileName),
		// afterApply runs inside ApplyBatch, which holds f.mu.RLock, and
		// on the FSM goroutine, the only one that swaps f.store (Restore).
		read:  func() ([]byte, error) { return f.store.Log(n.origin).Checkpoint() },
		open:  func(b []byte) (*ledger.Checkpoint, error) { return ledger.OpenCheckpoint(b, n.origin, n.logVerifier) },
		log:   n.logger,
		after: f.afterApply,
	}
	f.afterApply = saver.save
	return nil
}

// openError makes a ledger.db that ledger.Open found damaged a *StartError.
func openError(path string, err error) error {
	var ce *ledger.CorruptError
	if errors.Is(err, ledger.ErrDamaged) || errors.As(err, &ce) {
		return &StartError{Path: path, Check: "open", Index: -1, Err: err}
	}
	return err
}
