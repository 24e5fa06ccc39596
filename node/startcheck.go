package node

import (
	"context"
	"encoding/binary"
	"path/filepath"

	"github.com/creditx/creditx/internal/startcheck"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node/raftcluster"
	"golang.org/x/mod/sumdb/note"
)

// The start-up integrity check (issue 11 item 6) is package startcheck's:
// New reads the meta pages before opening ledger.db (startcheck.Meta),
// makes a damaged file a *StartError (startcheck.OpenError) and runs the
// checks before raft starts (checkAtStart).

// StartError is why a replica refuses to start: its stored state is damaged
// or older than what it already signed or raft already compacted.
type StartError = startcheck.StartError

// ErrRolledBack marks a StartError (or a CheckRollback error) for a
// ledger.db older than what was already signed or compacted away by raft.
// Match with errors.Is.
var ErrRolledBack = startcheck.ErrRolledBack

// CheckRollback reports, for creditx verify, whether ledger.db (opened as s
// from a replica's dataDir) is older than what the replica already signed
// (dataDir/ledger.checkpoint, checked with the verifier of the origin it
// names; unknown origin: an error) or than raft's latest snapshot: a
// *StartError wrapping the reason. Nil if dataDir has neither.
func CheckRollback(dataDir string, s *ledger.Store, verifiers map[string]note.Verifier) error {
	return startcheck.Rollback(dataDir, filepath.Join(dataDir, raftcluster.DirName), s, verifiers, storeApplied)
}

// storeApplied reads the last raft index a ledger store applied (0: none
// yet): ledger.db's, or the copy of it in a raft snapshot.
func storeApplied(s *ledger.Store) (uint64, error) {
	var applied uint64
	err := s.View(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(fsmBucket); b != nil {
			if v := b.Get([]byte(fsmAppliedKey)); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return applied, err
}

// checkAtStart runs the start-up checks on the freshly opened fsm store and
// installs the checkpoint saver (n.ckpt, run first by fsmHooks.Applied).
// Called by New after the FSM is built and before raft starts.
func (n *Node) checkAtStart(ms *ledger.MetaState, accVerifier note.Verifier) error {
	f := n.fsm
	verifiers := map[string]note.Verifier{n.origin: n.logVerifier, n.access: accVerifier}
	if sl, ok := f.logs[n.loopOrigin()]; ok { // notices.go
		verifiers[n.loopOrigin()] = sl.verifier
	}
	if err := n.addPeerVerifiers(verifiers); err != nil { // exchange_host.go: configured members and those that joined
		return err
	}
	if n.cfg.SkipLedgerScan {
		n.logger.Warn("ledger.db: start-up scan of every page and entry skipped (Config.SkipLedgerScan, benchmarks only)")
		if err := startcheck.CheckSignedCheckpoint(f.store, n.cfg.DataDir, n.origin, verifiers[n.origin]); err != nil {
			return err
		}
	} else if err := startcheck.Check(context.Background(), f.store, n.cfg.DataDir, ms, n.origin, verifiers, n.logger); err != nil {
		return err
	}
	applied, err := f.appliedIndex()
	if err != nil {
		return err
	}
	if err := startcheck.RaftApplied(filepath.Join(n.cfg.DataDir, raftcluster.DirName), f.store.Path(), applied,
		startcheck.SnapshotApplied(storeApplied)); err != nil {
		return err
	}
	saver := &startcheck.Saver{
		File: filepath.Join(n.cfg.DataDir, startcheck.CheckpointFileName),
		// Save runs inside ApplyBatch (fsmHooks.Applied), which holds
		// f.mu.RLock, and on the FSM goroutine, the only one that swaps
		// f.store (Restore).
		Read: func() ([]byte, error) { return f.store.Log(n.origin).Checkpoint() },
		Open: func(b []byte) (*ledger.Checkpoint, error) { return ledger.OpenCheckpoint(b, n.origin, n.logVerifier) },
		Log:  n.logger,
	}
	n.ckpt = saver
	return nil
}
