package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/internal/dedupe"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/vault"
	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Indexer is told of every batch of entries appended to any log, inside the
// same bbolt transaction as the append, on every replica.
//
// It must be deterministic (the same inputs produce the same writes on every
// replica) and must not block. Problems with the data itself (an entry that
// does not decode, an unknown reference) are recorded by the indexer, never
// returned: a returned error means storage failed, aborts the whole batch and
// stops the replica, which then recovers by replaying its raft log.
type Indexer interface {
	Index(tx *ledger.Tx, origin string, first uint64, entries [][]byte) error
}

// fsmHost is the replica as its FSM sees it, given to newFSM and fixed for
// the FSM's life (nil: a bare FSM with no hooks, as in tests). Every method
// runs on the FSM goroutine; those taking tx run inside the batch's
// transaction and must decide alike on every replica.
type fsmHost interface {
	// CheckEntry is asked before an entry is appended to a log this region
	// signs, with the index the entry would get; an error refuses the whole
	// command (nothing appended) and comes back in the result. It must
	// depend only on the entries before index.
	CheckEntry(origin string, index uint64, entry []byte) error
	// Peer is the log key of another member's ledger this region mirrors
	// and witnesses, as of tx (configured, or joined by governance).
	Peer(tx *ledger.Tx, origin string) (note.Verifier, bool)
	// Accepts says whether a mirrored entry's schema (its id, read from
	// the entry by mirroredSchema) is accepted by the manifest or adopted
	// by governance as of tx; an error is a storage failure (see
	// fsm_ops.go and exchange/adopt.go).
	Accepts(tx *ledger.Tx, schema string) (accepted bool, err error)
	// Applied runs after every applied batch, outside its transaction but
	// under f.mu's read lock (wakes readers, saves the checkpoint file),
	// with the size of every own checkpoint the batch stored as witnessed
	// (op 4), by origin (empty: none; valid only during the call).
	Applied(witnessed map[string]uint64)
	// Restored runs after a snapshot replaced ledger.db, before any later
	// entry applies; an error fails the install (raft retries it).
	Restored() error
}

// fsmConfig is what an FSM is built with besides its ledger.db.
type fsmConfig struct {
	logs    map[string]signingLog // origins this region signs
	indexer Indexer               // may be nil
	host    fsmHost               // may be nil
	// vault is this replica's vault key (nil: none).
	vault *vault.Ring
	// lookupOrigin is the access log, whose entries may carry a lookup
	// charge the FSM applies (lookupcap.go).
	lookupOrigin string
	logger       *slog.Logger
}

// signingLog is a log whose checkpoints this region signs.
type signingLog struct {
	signer   note.Signer
	verifier note.Verifier
}

// applyResult is what the FSM returns for one raft command; the replica that
// proposed the command receives it through the raft.ApplyFuture.
type applyResult struct {
	Origin     string
	Indices    []uint64 // the index of each entry of the command, in order
	Fresh      []bool   // false where the entry was already in the log (idempotent resubmission)
	Size       uint64   // tree size covered by Checkpoint
	Checkpoint []byte   // signed checkpoint covering every index in Indices
	Err        error
	// Known is, for opWitness, the size this member last cosigned for
	// Origin (after the command, or unchanged if it was refused).
	Known uint64
	// Vault is, for opVaultPut, the number of keys newly stored (0: all
	// were already there) and, for opVaultErase, the number destroyed.
	Vault int
	// Epoch is, for opVaultRotate, the vault-key epoch after the command.
	Epoch uint64
	// signs: the command appended to a log this region signs (opAppend).
	signs bool
}

// Bucket and key names inside ledger.db that belong to the FSM.
// Changing these breaks existing data directories.
const (
	fsmBucket     = "fsm"
	fsmAppliedKey = "applied" // uint64 BE: last raft index applied to ledger.db
)

// fsm applies raft commands to the region's ledger.db. It is persistent: the
// raft index of the last applied command is stored in the same bbolt
// transaction as the command's effects, so replaying raft entries at start-up
// (raft.Config.NoSnapshotRestoreOnStart) skips what is already applied.
type fsm struct {
	path string
	opts ledger.Options
	// Fixed at construction (fsmConfig).
	logs         map[string]signingLog
	indexer      Indexer // may be nil
	host         fsmHost // may be nil
	lookupOrigin string
	logger       *slog.Logger

	// now is the raft time (leader's AppendedAt) of the entry being
	// applied; FSM goroutine only. Indexers use it so that what they derive
	// from time is the same on every replica.
	now time.Time
	// vault is this replica's vault key (nil: none), fixed at construction.
	// vaultEpoch is the epoch an erasure in the current batch moved to (0:
	// none), used on the FSM goroutine only, to replace the key file after
	// the commit (package vault).
	vault      *vault.Ring
	vaultEpoch uint64
	// vaultStale holds why the vault key file could not be ratcheted after
	// an erasure ("" once it was): shown in GET /v1/status, not only logged.
	vaultStale atomic.Pointer[string]
	// witnessed is what op 4 stored in the batch being applied (origin ->
	// largest size), handed to host.Applied after the commit and then
	// cleared (made at the first op 4, then reused); FSM goroutine only.
	witnessed map[string]uint64

	mu    sync.RWMutex  // guards store: Restore swaps it, everyone else reads under RLock
	store *ledger.Store // guarded by mu

	// batches and commands count ApplyBatch calls (ledger.db write
	// transactions) and the raft commands they applied (exchange.Work).
	batches, commands atomic.Uint64
}

// newFSM opens ledger.db at path and builds the FSM whole: nothing is set
// on it afterwards.
func newFSM(path string, opts ledger.Options, c fsmConfig) (*fsm, error) {
	s, err := ledger.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return &fsm{path: path, opts: opts, logs: c.logs, indexer: c.indexer, host: c.host, vault: c.vault,
		lookupOrigin: c.lookupOrigin, logger: c.logger, store: s}, nil
}

// view runs fn with the current store under the read lock.
func (f *fsm) view(fn func(tx *ledger.ReadTx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store.View(fn)
}

// withStore runs fn with the current store under the read lock (a
// Restore waits for it), for readers that take a *ledger.Log rather than a
// transaction, such as ledger.Export.
func (f *fsm) withStore(fn func(s *ledger.Store) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return fn(f.store)
}

// appliedIndex is the last raft index whose effects are durable in ledger.db.
func (f *fsm) appliedIndex() (uint64, error) {
	var n uint64
	err := f.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(fsmBucket); b != nil {
			if v := b.Get([]byte(fsmAppliedKey)); len(v) == 8 {
				n = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return n, err
}

func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store.Close()
}

// Apply implements raft.FSM for the (unused) non-batching path.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies every command of a committed batch in ONE bbolt
// transaction (group commit: one fsync for all of them), then signs one new
// checkpoint per touched signing log in the same transaction. Because Ed25519
// signatures are deterministic and the checkpoint body has no timestamp, every
// replica stores byte-identical checkpoints.
//
// If the process dies before the transaction commits, nothing of the batch is
// in ledger.db and raft replays it at start-up; if it dies after, the applied
// index makes the replay a no-op. If bbolt itself fails (disk full, fsync
// error), the replica cannot stay consistent with its peers, so it panics and
// recovers from the raft log on restart.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.batches.Add(1)
	f.commands.Add(uint64(len(logs)))
	f.mu.RLock()
	defer f.mu.RUnlock()
	err := f.store.Update(func(tx *ledger.Tx) error {
		meta, err := tx.Bucket(fsmBucket)
		if err != nil {
			return err
		}
		var applied uint64
		if v := meta.Get([]byte(fsmAppliedKey)); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		touched := map[string][]*applyResult{}
		last := applied
		for i, l := range logs {
			if l.Index <= applied {
				out[i] = &applyResult{Err: errReplayed}
				continue
			}
			last = l.Index
			f.now = l.AppendedAt
			if l.Type != raft.LogCommand {
				continue
			}
			r, err := f.applyCommand(tx, l.Data)
			if err != nil {
				return err
			}
			out[i] = r
			if r.Err == nil && r.signs {
				touched[r.Origin] = append(touched[r.Origin], r)
			}
		}
		for origin, rs := range touched {
			sl, ok := f.logs[origin]
			if !ok {
				continue
			}
			size, cp, err := tx.CheckpointTree(origin, sl.signer, sl.verifier)
			if err != nil {
				return err
			}
			if err := thinCheckpoints(tx, meta, origin, size, logs[len(logs)-1].AppendedAt); err != nil {
				return err
			}
			for _, r := range rs {
				r.Size, r.Checkpoint = size, cp
			}
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], last)
		return meta.Put([]byte(fsmAppliedKey), buf[:])
	})
	if err != nil {
		f.logger.Error("ledger write failed; stopping this replica", "err", err)
		panic(fmt.Sprintf("creditx: ledger write failed, replica must restart and replay raft: %v", err))
	}
	if f.vaultEpoch != 0 && f.vault != nil {
		// Dying before this leaves the old key on disk until the next start
		// (syncVaultEpoch); failing leaves it until then too.
		if err := f.vault.AdvanceTo(f.vaultEpoch); err != nil {
			msg := fmt.Sprintf("the vault key was not ratcheted after the erasure at epoch %d, so the previous key is still on disk: %v; fix the key file's disk and restart this replica (the ratchet completes at start)", f.vaultEpoch, err)
			f.vaultStale.Store(&msg)
			f.logger.Error("vault key not ratcheted after an erasure; the previous key stays on disk until restart", "err", err)
		} else {
			f.vaultStale.Store(nil)
		}
	}
	f.vaultEpoch = 0
	if f.host != nil {
		f.host.Applied(f.witnessed)
	}
	clear(f.witnessed)
	return out
}

// thinCheckpoints keeps the checkpoint history of origin to at most one
// checkpoint per second of raft time (the leader's AppendedAt, replicated in
// the raft log, so every replica thins identically): the previous latest
// checkpoint is dropped from history if the last one kept is less than a
// second older. The latest checkpoint is always kept.
//
// fsm bucket keys: "cp-prev/<origin>" and "cp-kept/<origin>" -> uint64 BE
// size || uint64 BE unix nanoseconds.
func thinCheckpoints(tx *ledger.Tx, meta *bbolt.Bucket, origin string, size uint64, at time.Time) error {
	prevKey, keptKey := []byte("cp-prev/"+origin), []byte("cp-kept/"+origin)
	now := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, size), uint64(at.UnixNano()))
	prev := meta.Get(prevKey)
	if len(prev) == 16 && binary.BigEndian.Uint64(prev[:8]) != size {
		prevSize, prevT := binary.BigEndian.Uint64(prev[:8]), int64(binary.BigEndian.Uint64(prev[8:]))
		kept := meta.Get(keptKey)
		if len(kept) == 16 && prevT-int64(binary.BigEndian.Uint64(kept[8:])) < int64(time.Second) {
			if err := tx.DropCheckpoint(origin, prevSize); err != nil {
				return err
			}
		} else if err := meta.Put(keptKey, prev); err != nil {
			return err
		}
	}
	return meta.Put(prevKey, now)
}

// errReplayed answers a raft entry that was already applied before a restart.
var errReplayed = errors.New("raft entry already applied")

// applyCommand decodes one raft command and applies it through the op
// table (fsm_ops.go). A returned error is a storage failure; a bad or
// refused command is reported in the result.
func (f *fsm) applyCommand(tx *ledger.Tx, data []byte) (*applyResult, error) {
	c, err := decodeCommand(data)
	if err != nil {
		return &applyResult{Err: err}, nil
	}
	apply := opOf(c.op)
	if apply == nil {
		return &applyResult{Err: fmt.Errorf("%w: unknown op %d", errBadCommand, c.op)}, nil
	}
	return apply(f, tx, c) // fsm_ops.go
}

// applyAppend (op 1) appends one command's entries to a log this region
// signs, skipping entries already in the log (by leaf hash) so that a
// resubmitted record keeps its original index.
//
// What the FSM re-checks, on every replica, and what it takes from
// admission. Each fresh entry is hashed and parsed once here
// (index.ParsedOf: the leaf hash, the strict envelope and the strict
// canonical decoding of the record), from the bytes being appended, never
// from a form carried in the command; where this replica's own admission
// accepted the entry, its parse is reused if its leaf hash (SHA-256 of the
// exact bytes) is the one computed here from the bytes appended
// (index.Indexer.ParsedFor): parsing is a pure function of the bytes, so
// every replica indexes the same whether it parsed or reused. The record
// dedupe, the ledger append (AppendHashed), the indexer, the
// check index and conflict detection all read this one parse, so what is
// indexed is derived from exactly the bytes stored. Re-checked at apply time
// because they depend on the log's state at the entry's index, which
// admission could not see: the signing key's validity at that index and the
// keyring's governance rules (checkEntry: a revocation committed between
// admission and apply refuses the command), duplicates by leaf hash and by
// record, and the lookup charges of the access log. Not re-checked: the
// Ed25519 signature, field validation, the plaintext scan, roles, owners
// and references. Admission on the replica that proposed the command did
// those, and raft replicates only what the region's own replicas proposed
// (one operator, mutually authenticated), so a replica re-verifying them
// would pay about 100 CPU-us per record for no case the threat model has.
// An entry that does not parse or decode strictly is appended (raft
// committed it) but never indexed: it is recorded in the bad bucket.
func (f *fsm) applyAppend(tx *ledger.Tx, c command) (*applyResult, error) {
	var err error
	if _, ok := f.logs[c.origin]; !ok {
		// Only the logs this region signs take appends; mirrors change
		// through op 2 alone (internal/admission/forward.go).
		return &applyResult{Err: fmt.Errorf("%w: append to %s, which is not a log this region signs", errBadCommand, c.origin)}, nil
	}
	r := &applyResult{Origin: c.origin, Indices: make([]uint64, len(c.entries)), Fresh: make([]bool, len(c.entries)), signs: true}
	lr := tx.Log(c.origin)
	next := lr.Size()
	var fresh [][]byte
	var parsed []index.Parsed // each fresh entry parsed once (package index), for the dedupe and the indexer
	seen := make(map[tlog.Hash]uint64, len(c.entries))
	dd, err := dedupe.NewBatch(tx, c.origin) // dedupe.go: duplicates by record, not by signature
	if err != nil {
		return nil, err
	}
	for i, e := range c.entries {
		h := tlog.RecordHash(e)
		if idx, ok := lr.LeafIndex(h); ok {
			r.Indices[i] = idx
			continue
		}
		if idx, ok := seen[h]; ok {
			r.Indices[i] = idx
			continue
		}
		var pe index.Parsed
		if pi, ok := f.indexer.(parsedIndexer); ok {
			pe = pi.ParsedFor(h, e) // admission's parse of these bytes on this replica, if any
		} else {
			pe = index.ParsedOf(h, e)
		}
		if idx, ok := dd.Dup(pe.Signed, next); ok {
			r.Indices[i] = idx
			continue
		}
		seen[h] = next
		r.Indices[i], r.Fresh[i] = next, true
		fresh = append(fresh, e)
		parsed = append(parsed, pe)
		next++
	}
	if len(fresh) == 0 {
		return r, nil
	}
	if f.host != nil {
		for i, e := range c.entries {
			if !r.Fresh[i] {
				continue
			}
			if err := f.host.CheckEntry(c.origin, r.Indices[i], e); err != nil {
				return &applyResult{Err: &entryRefusedError{Entry: i, Index: r.Indices[i], Err: err}}, nil
			}
		}
	}
	var lookups map[string]int
	if c.origin == f.lookupOrigin {
		if lookups, err = lookupCharges(tx, fresh); err != nil {
			var lc *LookupCapError
			if errors.As(err, &lc) {
				return &applyResult{Err: err}, nil // refused: nothing appended, nothing charged
			}
			return nil, err
		}
	}
	leaves := make([]tlog.Hash, len(parsed))
	for i := range parsed {
		leaves[i] = parsed[i].Leaf
	}
	first, err := tx.AppendHashed(c.origin, fresh, leaves)
	if err != nil {
		if errors.Is(err, ledger.ErrEntryTooLarge) {
			return &applyResult{Err: err}, nil
		}
		return nil, err
	}
	if err := putLookupCharges(tx, lookups); err != nil {
		return nil, err
	}
	if first != r.Indices[firstFresh(r.Fresh)] {
		panic(fmt.Sprintf("creditx: ledger appended at %d, FSM expected %d", first, r.Indices[firstFresh(r.Fresh)]))
	}
	if err := dd.Commit(); err != nil {
		return nil, err
	}
	if pi, ok := f.indexer.(parsedIndexer); ok {
		if err := pi.IndexParsed(tx, c.origin, first, fresh, parsed); err != nil {
			return nil, err
		}
	} else if f.indexer != nil {
		if err := f.indexer.Index(tx, c.origin, first, fresh); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func firstFresh(fresh []bool) int {
	for i, b := range fresh {
		if b {
			return i
		}
	}
	return -1
}

// Snapshot captures a consistent copy of ledger.db. The bbolt read
// transaction is opened here, on the FSM goroutine, so it reflects exactly the
// applied state; Persist streams it while new batches keep applying.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, err := f.store.Snapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{s: s}, nil
}

type fsmSnapshot struct{ s *ledger.Snapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.s.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.s.Release() }

// Restore replaces ledger.db with a snapshot received from the leader (a
// replica that fell too far behind, or whose data directory was wiped).
//
// The snapshot is written to ledger.db.restore and fsync'd first; if the
// process dies before the rename, the old ledger.db is intact and raft
// installs the snapshot again. The rename is atomic; if the process dies
// after it, the new ledger.db carries its own applied index and raft
// replays only what follows.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := f.path + ".restore"
	w, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, rc); err != nil {
		w.Close()
		return fmt.Errorf("receiving snapshot: %w", err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.swapStore(tmp); err != nil {
		return err
	}
	f.logger.Info("restored ledger from snapshot")
	// Restored reads the new store through view, so it runs after
	// swapStore released f.mu.
	if f.host != nil {
		return f.host.Restored()
	}
	return nil
}

// swapStore closes ledger.db, renames tmp (a fsync'd snapshot) over it and
// opens it, all under f.mu so no reader sees a closed store. If the rename
// fails the old file is opened again, so the replica keeps its old state
// and raft sends the snapshot again. The directory is fsync'd after the
// rename: if that fails the rename may not survive a crash, so the error is
// returned (raft retries the install; on a restart after such a crash,
// startcheck finds ledger.db behind raft's snapshot and refuses to start).
func (f *fsm) swapStore(tmp string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.store.Close(); err != nil {
		return err
	}
	renameErr := os.Rename(tmp, f.path)
	s, err := ledger.Open(f.path, f.opts)
	if err != nil {
		return errors.Join(renameErr, fmt.Errorf("opening restored ledger: %w", err))
	}
	f.store = s
	if renameErr != nil {
		return fmt.Errorf("installing snapshot: %w", renameErr)
	}
	return syncDir(filepath.Dir(f.path))
}

// syncDir fsyncs directory dir, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return d.Close()
}
