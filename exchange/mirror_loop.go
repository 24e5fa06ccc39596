package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// mirrorBatch is the most entries one mirror-append command carries.
const mirrorBatch = 4096

// idleResync caps the backoff of a loop that keeps failing (loop_follow.go).
const idleResync = 30 * time.Second

// inSyncRecheck is how often a mirror that is in sync looks at its origin's
// checkpoint without being kicked. It is a safety net only: the watch loop's
// long-poll (watch.go) is renewed at least every MaxCheckpointWait (3 min;
// CheckpointWaitFresh, 25 s, in the round after news) and answered at once
// when the origin's witnessed checkpoint is past what the watcher has seen,
// and a round with nothing new wakes a mirror still behind what the watcher
// saw (rekick), so a lost answer or wake-up costs one long-poll round (25 s
// after news), not this long.
// At 30 s it was 1,980 requests per 30 s at 45 members in one process, about
// half the idle CPU left after the idle work (BENCHMARKS.md "Idle at 45").
const inSyncRecheck = 5 * time.Minute

// mirrorLoop keeps the mirror of one member's ledger current while this
// replica leads: woken by the witness endpoint after a cosignature and by
// the watch loop's long-poll when the origin has a new witnessed checkpoint
// (watch.go); the timer only retries after a failure (PullInterval) or
// re-checks now and then (inSyncRecheck).
func (x *Runtime) mirrorLoop(ctx context.Context, code string) {
	mb, _ := x.m().Member(code) // live.go
	origin := mb.Origin()
	kick := x.kickChan(origin)
	var ev *EntryVerifier // rebuilt from ledger.db whenever in doubt
	wait := x.cfg.PullInterval
	unwitnessed := x.cfg.PullInterval // the wait while the stored checkpoint lacks the quorum
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-time.After(wait):
		}
		if !x.host.IsLeader() {
			ev, wait = nil, x.cfg.PullInterval
			x.setNoCheckpoint(origin, false) // the leader's loop knows, not this one
			continue
		}
		var err error
		wait = max(inSyncRecheck, x.cfg.PullInterval)
		if ev, err = x.syncMirror(ctx, mb, ev); err != nil && ctx.Err() == nil {
			ev, wait = nil, x.cfg.PullInterval
			x.logger.Debug("mirror not synced", "origin", origin, "err", err)
			continue
		}
		if x.storedUnwitnessed(mb) {
			// Synced up to a checkpoint without the quorum (the one this
			// member's witness cosigned, when the origin's witnessed one
			// could not be fetched): the watch loop may already have
			// passed that size and will not kick again, so look again
			// soon rather than at the in-sync re-check (5 min).
			wait, unwitnessed = unwitnessed, min(2*unwitnessed, 30*time.Second)
		} else {
			unwitnessed = x.cfg.PullInterval
		}
	}
}

// storedUnwitnessed says whether the mirror of mb stores a checkpoint
// that does not meet the witness quorum (the same check as Status; cached
// per signed bytes).
func (x *Runtime) storedUnwitnessed(mb *Member) bool {
	var stored []byte
	if err := x.host.View(func(tx *ledger.ReadTx) error {
		stored, _ = tx.Log(mb.Origin()).Checkpoint()
		return nil
	}); err != nil || len(stored) == 0 {
		return false
	}
	_, ok, err := x.cpCache.Witnessed(x.m(), mb.Code, stored)
	return err == nil && !ok
}

// mirrorStopped reports whether an alert stopped mirroring origin.
func (x *Runtime) mirrorStopped(origin string) (bool, error) {
	stopped := false
	err := x.host.View(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(BucketStopped); b != nil {
			stopped = b.Get([]byte(origin)) != nil
		}
		return nil
	})
	return stopped, err
}

// target is the checkpoint the mirror should reach: the larger of the one
// this member's witness last cosigned and the one the origin serves. Both
// are verified; a conflict between them, or with the mirror, is an alert.
// nil and no error: nothing to mirror yet (nothing cosigned, and the origin
// answered that it has no checkpoint).
func (x *Runtime) target(ctx context.Context, mb *Member) (*ledger.Checkpoint, error) {
	origin := mb.Origin()
	var ws WitnessState
	err := x.host.View(func(tx *ledger.ReadTx) error {
		var err error
		ws, err = ReadWitnessState(tx, origin)
		return err
	})
	if err != nil {
		return nil, err
	}
	var best *ledger.Checkpoint
	if ws.Size > 0 {
		if best, err = x.cpCache.Open(ws.Note, origin, mb.LogVerifier()); err != nil {
			return nil, err
		}
	}
	served, ferr := x.takeServed(origin), error(nil) // the watch loop's latest answer (watch.go)
	if served == nil {
		served, ferr = x.client(mb.Code).Checkpoint(ctx)
	}
	if ferr == nil {
		cp, err := x.cpCache.Open(served, origin, mb.LogVerifier())
		if err != nil {
			return best, fmt.Errorf("served checkpoint: %w", err)
		}
		if bad, err := x.checkEquivocation(cp); err != nil {
			return nil, err
		} else if bad {
			return nil, fmt.Errorf("%w: served checkpoint", ErrInconsistent)
		}
		if best == nil || cp.Size >= best.Size {
			best = cp
		}
	}
	if best == nil {
		if ferr != nil && !errors.Is(ferr, ledger.ErrNotFound) {
			return nil, ferr
		}
		// Nothing cosigned and the origin has no checkpoint yet (404):
		// nothing to mirror, not a failure. The watch loop's long-poll
		// (after=0) is answered with the origin's first witnessed
		// checkpoint and kicks this mirror, as does this member's witness
		// when it cosigns one. As a failure it was retried every
		// PullInterval by every pair: ~2,000 requests/s while 45 members
		// started, in a process already short of CPU (P8). The mirror's
		// status says so (MirrorNoCheckpoint) until a target is found.
		x.setNoCheckpoint(origin, true)
		return nil, nil
	}
	x.setNoCheckpoint(origin, false)
	return best, nil
}

// setNoCheckpoint records whether the latest mirror target of origin found
// nothing to mirror (MirrorStatus.State).
func (x *Runtime) setNoCheckpoint(origin string, none bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !none {
		delete(x.noCheckpoint, origin)
		return
	}
	if x.noCheckpoint == nil {
		x.noCheckpoint = map[string]bool{}
	}
	x.noCheckpoint[origin] = true
}

// originHasNoCheckpoint reports whether the latest mirror target of origin
// found nothing to mirror.
func (x *Runtime) originHasNoCheckpoint(origin string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.noCheckpoint[origin]
}

// checkEquivocation compares a verified checkpoint of a member with
// everything this member holds of that origin: the witness state and the
// mirror. On a conflict it raises an equivocation alert with both signed
// notes and returns true. An error is a failed read of this member's own
// state: nothing was checked, so the caller must not go on as if it had.
func (x *Runtime) checkEquivocation(cp *ledger.Checkpoint) (bool, error) {
	var ws WitnessState
	var mirrorRoot tlog.Hash
	var mirrorNote []byte
	var haveMirror bool
	err := x.host.View(func(tx *ledger.ReadTx) error {
		var err error
		if ws, err = ReadWitnessState(tx, cp.Origin); err != nil {
			return err
		}
		lr := tx.Log(cp.Origin)
		if cp.Size <= lr.Size() && cp.Size > 0 {
			if mirrorRoot, err = lr.TreeHash(cp.Size); err != nil {
				return err
			}
			haveMirror = true
			if mirrorNote, err = lr.Checkpoint(); err != nil && !errors.Is(err, ledger.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("checking %s for equivocation: %w", cp.Origin, err)
	}
	switch {
	case ws.Size == cp.Size && ws.Size > 0 && ws.Root != cp.Root:
		x.raiseAlert(Evidence{Kind: AlertEquivocation, Origin: cp.Origin,
			Reason: fmt.Sprintf("two checkpoints of size %d with different roots", cp.Size), Items: [][]byte{ws.Note, cp.Signed}})
		return true, nil
	case haveMirror && mirrorRoot != cp.Root:
		x.raiseAlert(Evidence{Kind: AlertEquivocation, Origin: cp.Origin,
			Reason: fmt.Sprintf("checkpoint of size %d is inconsistent with the verified mirror (first note: the mirror's checkpoint)", cp.Size),
			Items:  [][]byte{mirrorNote, cp.Signed}})
		return true, nil
	}
	return false, nil
}

// syncMirror brings the mirror of mb up to its target checkpoint, verifying
// every entry, in batches committed through raft.
func (x *Runtime) syncMirror(ctx context.Context, mb *Member, ev *EntryVerifier) (*EntryVerifier, error) {
	origin := mb.Origin()
	if stopped, err := x.mirrorStopped(origin); err != nil || stopped || !x.effective()[mb.Code] {
		return ev, err
	}
	cp, err := x.target(ctx, mb)
	if err != nil || cp == nil {
		return ev, err
	}
	var fr *Frontier
	var stored []byte
	err = x.host.View(func(tx *ledger.ReadTx) error {
		var err error
		if fr, err = readFrontier(tx, origin); err != nil {
			return err
		}
		stored, _ = tx.Log(origin).Checkpoint()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cp.Size < fr.Size() {
		return ev, nil
	}
	if cp.Size == fr.Size() {
		// Nothing new; store the version with more signatures (cosignatures).
		if cp.Size > 0 && len(cp.Signed) > len(stored) && !bytes.Equal(cp.Signed, stored) {
			res, err := x.propose(ctx, Command{Op: OpMirrorAppend, Origin: origin, Checkpoint: cp.Signed, First: fr.Size()})
			if err != nil {
				return ev, err
			}
			return ev, res.Err()
		}
		return ev, nil
	}
	if ev == nil || ev.Next() != fr.Size() {
		if ev, err = x.entryVerifier(mb, fr.Size()); err != nil {
			return nil, err
		}
	}
	total := cp.Size
	// Fetching and verifying batch k+1 overlaps with committing batch k.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan mirrorBatchV, 2)
	var perr error // written by the producer before it closes batches
	go func() {
		defer close(batches)
		perr = x.fetchVerified(pctx, mb, cp, fr, ev, batches)
	}()
	var cerr error
	for b := range batches {
		if cerr != nil {
			continue // drain after a failure; the producer stops on cancel
		}
		if ps, ok := x.host.(ParseSink); ok {
			ps.MirrorParsed(b.leaves, b.parsed)
		}
		res, err := x.propose(ctx, Command{Op: OpMirrorAppend, Origin: origin, Checkpoint: cp.Signed, First: b.start, Proof: b.proof, Entries: b.entries})
		switch {
		case err != nil:
			cerr = err
		case res.Refused != nil:
			cerr = fmt.Errorf("mirror-append refused: %w", res.Refused)
		}
		if cerr != nil {
			cancel()
			continue
		}
		x.mirrored.WithLabelValues(origin).Add(float64(len(b.entries)))
		x.mu.Lock()
		p := x.progress
		x.mu.Unlock()
		if p != nil {
			p(origin, b.start+uint64(len(b.entries)), total)
		}
	}
	if cerr != nil {
		return nil, cerr
	}
	if perr != nil {
		return nil, perr
	}
	return ev, nil
}

// mirrorBatchV is one fetched and fully verified batch, ready to commit.
type mirrorBatchV struct {
	start   uint64
	entries [][]byte
	proof   tlog.TreeProof
	leaves  []tlog.Hash // leaves[i] = tlog.RecordHash(entries[i])
	parsed  []Verified  // the verifier's parse of each entry
}

// ParseSink is implemented by a Host whose apply step can reuse the
// verifier's parse of a mirrored entry instead of parsing its bytes again
// (the node hands it to its indexer, which finds it by leaf hash, the
// SHA-256 of the exact bytes applied; parsing is a pure function of those
// bytes, so a replica that reuses and one that parses index alike).
// MirrorParsed is called just before the batch is proposed.
type ParseSink interface {
	MirrorParsed(leaves []tlog.Hash, parsed []Verified)
}

// fetchVerified fetches entries [fr.Size(), cp.Size) of mb in batches and
// verifies each batch (inclusion under cp: the last batch by the root it
// leads to (lastBatch), any other, or one whose root differs, through the
// origin's authenticated hash tiles; the entries themselves with ev; and
// that the extended frontier is a prefix of cp) before sending it to out.
// A bad entry raises an alert.
func (x *Runtime) fetchVerified(ctx context.Context, mb *Member, cp *ledger.Checkpoint, fr *Frontier,
	ev *EntryVerifier, out chan<- mirrorBatchV) error {
	origin := mb.Origin()
	c := x.client(mb.Code)
	thr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, c.Tiles(ctx).TileReader())
	for fr.Size() < cp.Size {
		start := fr.Size()
		end := min(cp.Size, start+mirrorBatch)
		entries, err := c.Entries(ctx, start, end)
		if err != nil {
			return err
		}
		next, leaves := lastBatch(fr, cp, entries)
		if next == nil {
			if next, leaves, err = x.tileLeaves(thr, mb, cp, fr, start, entries); err != nil {
				return err
			}
		}
		// Every entry's inclusion is now proven; check what it says.
		_, parsed, err := ev.CheckBatchParsed(start, entries)
		if err != nil {
			var ee *EntryError
			if errors.As(err, &ee) && ee.Index >= start && ee.Index < end {
				x.raiseAlert(Evidence{Kind: AlertBadEntry, Origin: origin, Index: ee.Index,
					Reason: err.Error(), Items: [][]byte{cp.Signed, entries[ee.Index-start]}})
			}
			return err
		}
		var proof tlog.TreeProof
		if end < cp.Size {
			if proof, err = tlog.ProveTree(int64(cp.Size), int64(end), thr); err != nil {
				return fmt.Errorf("consistency proof %d -> %d: %w", end, cp.Size, err)
			}
			if err := tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(end), next.Root()); err != nil {
				return fmt.Errorf("entries %d..%d are not a prefix of checkpoint %d: %w", start, end, cp.Size, err)
			}
		} else if next.Root() != cp.Root {
			return fmt.Errorf("entries up to %d do not lead to the checkpoint root", end)
		}
		select {
		case out <- mirrorBatchV{start: start, entries: entries, proof: proof, leaves: leaves, parsed: parsed}:
		case <-ctx.Done():
			return ctx.Err()
		}
		fr = next
	}
	return nil
}

// lastBatch authenticates entries as the last batch up to cp without a
// hash tile: appended to the verified frontier fr, their record hashes
// must lead exactly to cp's root (the entries are then the leaves
// [fr.Size(), cp.Size) of the tree cp signs, by the collision resistance
// of SHA-256, as with the tiles). It returns the extended frontier and the
// leaf hashes, or nil when the batch is not the last or the root differs
// (the caller then reads the leaves from the origin's hash tiles, which
// names the entry that does not match). Each mirror sync of a small
// checkpoint so makes one request to the origin (the entry bundle) instead
// of two or more (the hash tiles as well): at 45 members, 44 fetches of
// every member's every new checkpoint (P8).
func lastBatch(fr *Frontier, cp *ledger.Checkpoint, entries [][]byte) (*Frontier, []tlog.Hash) {
	if fr.Size()+uint64(len(entries)) != cp.Size {
		return nil, nil
	}
	next := fr.Clone()
	leaves := make([]tlog.Hash, len(entries))
	for i, e := range entries {
		leaves[i] = tlog.RecordHash(e)
		next.AppendLeaf(leaves[i])
	}
	if next.Root() != cp.Root {
		return nil, nil
	}
	return next, leaves
}

// tileLeaves authenticates entries [start, start+len(entries)) of mb
// through the origin's hash tiles under cp (thr) and returns fr extended
// by them and their leaf hashes. An entry that does not match its
// authenticated leaf hash raises a bad_entry alert.
func (x *Runtime) tileLeaves(thr tlog.HashReader, mb *Member, cp *ledger.Checkpoint, fr *Frontier,
	start uint64, entries [][]byte) (*Frontier, []tlog.Hash, error) {
	origin := mb.Origin()
	idx := make([]int64, len(entries))
	for i := range entries {
		idx[i] = tlog.StoredHashIndex(0, int64(start)+int64(i))
	}
	leaves, err := thr.ReadHashes(idx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s hash tiles at size %d: %w", origin, cp.Size, err)
	}
	next := fr.Clone()
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] { // leaves[i] is authenticated: from here on it is e's leaf hash
			index := start + uint64(i)
			x.raiseAlert(Evidence{Kind: AlertBadEntry, Origin: origin, Index: index,
				Reason: "served entry does not match the leaf hash under the signed checkpoint", Items: [][]byte{cp.Signed, e}})
			return nil, nil, fmt.Errorf("entry %d: leaf hash mismatch", index)
		}
		next.AppendLeaf(leaves[i])
	}
	return next, leaves, nil
}

// entryVerifier rebuilds the verifier of mb's entries at next: its keyring
// from the manifest anchors and the governance records already mirrored.
func (x *Runtime) entryVerifier(mb *Member, next uint64) (*EntryVerifier, error) {
	ev, err := NewEntryVerifier(x.manifest, mb)
	if err != nil {
		return nil, err
	}
	origin := mb.Origin()
	err = x.host.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(origin)
		return ev.Skip(next, func(yield func(uint64, []byte) bool) {
			gov := tx.Bucket(BucketGov)
			if gov == nil {
				return
			}
			prefix := append([]byte(origin), 0)
			c := gov.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				_, index, ok := SplitEntryKey(k)
				if !ok || index >= next {
					continue
				}
				e, err := lr.Entry(index)
				if err != nil || !yield(index, e) {
					return
				}
			}
		})
	})
	return ev, err
}
