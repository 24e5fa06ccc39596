package exchange

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// Followed loop checkpoints are stored in batches (issue 20). Every member
// follows every other member's loop log; one raft command per followed
// checkpoint and peer made up to N(N-1) raft writes per second in the
// consortium while notices were written. Now followServed verifies each
// served checkpoint as before (signature, witness quorum, consistency with
// the latest verified one: an inconsistency raises the alert with both
// notes at once) and queues it; followFlush stores the queued checkpoints
// of every peer that advanced in one OpFollow at most every
// followFlushEvery. Each item carries the proof from the size stored when
// it was verified, which the apply function checks again; a queued item
// whose base was stored over meanwhile is dropped (its origin is followed
// again from the stored checkpoint). A custodian copies up to the stored
// checkpoint only (loop_custody.go), so it lags by at most one flush.

// followFlushEvery is the least time between two follow commands of a
// member.
const followFlushEvery = time.Second

// followQueue holds the verified, not yet stored followed checkpoints.
type followQueue struct {
	mu       sync.Mutex
	pending  map[string]*queuedFollow // origin -> latest verified
	inflight map[string]bool          // origins of the command being proposed
	flushed  chan struct{}            // closed after each proposal; nil until waited on
	kick     chan struct{}            // buffered 1: something was queued
	lost     map[string]bool          // origins whose queued checkpoint was dropped unstored (followLoop starts again from the stored one)
	flushes  atomic.Uint64            // follow commands proposed (FollowCommands)
}

// queuedFollow is a verified checkpoint to follow: the item and the
// checkpoint's size and root (the reference for the next one served).
type queuedFollow struct {
	Follow
	size uint64
	root tlog.Hash
}

// queued is the checkpoint queued for origin if it is based on the stored
// size base (one based on another stored size is dropped), else nil.
func (q *followQueue) queued(origin string, base uint64) *queuedFollow {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pending[origin]
	if p != nil && p.OldSize != base {
		delete(q.pending, origin)
		return nil
	}
	return p
}

// queue replaces origin's queued checkpoint with f (verified: cp is its
// opened checkpoint) and wakes the flusher.
func (q *followQueue) queue(f Follow, cp *ledger.Checkpoint) {
	q.mu.Lock()
	if q.pending == nil {
		q.pending = map[string]*queuedFollow{}
	}
	q.pending[f.Origin] = &queuedFollow{Follow: f, size: cp.Size, root: cp.Root}
	k := q.kickLocked()
	q.mu.Unlock()
	select {
	case k <- struct{}{}:
	default:
	}
}

func (q *followQueue) kickLocked() chan struct{} {
	if q.kick == nil {
		q.kick = make(chan struct{}, 1)
	}
	return q.kick
}

// take empties the queue into the in-flight set, items in origin order.
func (q *followQueue) take() []*queuedFollow {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*queuedFollow, 0, len(q.pending))
	q.inflight = map[string]bool{}
	for o, p := range q.pending {
		out = append(out, p)
		q.inflight[o] = true
	}
	q.pending = nil
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// done ends a proposal: items it did not store are queued again (back)
// unless a newer one was queued for the origin meanwhile, or dropped
// (lost: their followLoop starts again from the stored checkpoint);
// waiters (waitStored, waitInflight) look again.
func (q *followQueue) done(back, lost []*queuedFollow) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lose(lost)
	for _, p := range back {
		if q.pending == nil {
			q.pending = map[string]*queuedFollow{}
		}
		if _, ok := q.pending[p.Origin]; !ok {
			q.pending[p.Origin] = p
		}
	}
	q.inflight = nil
	if q.flushed != nil {
		close(q.flushed)
		q.flushed = nil
	}
}

// waitStored waits until nothing is queued or in flight for origin, at
// most wait: a custodian copies up to the stored checkpoint.
func (q *followQueue) waitStored(ctx context.Context, origin string, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	q.waitFor(ctx, func() bool { return q.pending[origin] == nil && !q.inflight[origin] }, t.C)
}

// waitInflight waits until origin is not in the command being proposed:
// what followServed reads as stored is then what the next command builds
// on.
func (q *followQueue) waitInflight(ctx context.Context, origin string) {
	q.waitFor(ctx, func() bool { return !q.inflight[origin] }, nil)
}

// waitFor waits until done (called under q.mu) holds, looking again after
// every flush, or until timeout fires (nil: never) or ctx ends.
func (q *followQueue) waitFor(ctx context.Context, done func() bool, timeout <-chan time.Time) {
	for {
		q.mu.Lock()
		if done() {
			q.mu.Unlock()
			return
		}
		if q.flushed == nil {
			q.flushed = make(chan struct{})
		}
		ch := q.flushed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}

// drop notes items dropped unstored (lose, under q.mu).
func (q *followQueue) lose(items []*queuedFollow) {
	if q.lost == nil {
		q.lost = map[string]bool{}
	}
	for _, p := range items {
		q.lost[p.Origin] = true
	}
}

// takeLost says whether origin's queued checkpoint was dropped unstored
// since the last call.
func (q *followQueue) takeLost(origin string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lost[origin]
	delete(q.lost, origin)
	return l
}

// FollowCommands is how many follow commands (OpFollow) this runtime
// proposed.
func (x *Runtime) FollowCommands() uint64 { return x.follows.flushes.Load() }

// followFlush stores the queued followed checkpoints, one command per
// followFlushEvery at most, until ctx ends.
func (x *Runtime) followFlush(ctx context.Context) {
	x.follows.mu.Lock()
	kick := x.follows.kickLocked()
	x.follows.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		if err := x.flushFollows(ctx); err != nil && ctx.Err() == nil {
			x.logger.Warn("followed loop checkpoints not stored", "err", err)
		}
		sleepCtx(ctx, followFlushEvery)
	}
}

// flushFollows proposes OpFollow commands with every queued checkpoint
// (maxFollows a command). An item whose base is no longer the stored size
// (a leader change stored over it) is dropped before proposing; a
// proposal that fails puts its items back; a refused one (or one this
// replica no longer leads for) drops them. A dropped origin's followLoop
// starts again from what is stored.
func (x *Runtime) flushFollows(ctx context.Context) error {
	items := x.follows.take()
	if len(items) == 0 {
		x.follows.done(nil, nil)
		return nil
	}
	var stale []*queuedFollow
	err := x.host.View(func(tx *ledger.ReadTx) error {
		fresh := items[:0]
		for _, p := range items {
			f, err := ReadFollowed(tx, p.Origin)
			if err != nil {
				return err
			}
			if f.Size != p.OldSize {
				stale = append(stale, p)
				continue
			}
			fresh = append(fresh, p)
		}
		items = fresh
		return nil
	})
	if err != nil {
		x.follows.done(append(items, stale...), nil)
		return err
	}
	for len(items) > 0 {
		batch := items[:min(len(items), maxFollows)]
		items = items[len(batch):]
		first := batch[0].Follow
		c := Command{Op: OpFollow, Origin: first.Origin, OldSize: first.OldSize, Proof: first.Proof, Checkpoint: first.Checkpoint}
		for _, p := range batch[1:] {
			c.Follows = append(c.Follows, p.Follow)
		}
		x.follows.flushes.Add(1)
		res, err := x.propose(ctx, c)
		if err == nil {
			err = res.Err()
			if err != nil {
				stale = append(stale, batch...) // refused: dropped
				batch = nil
			}
		}
		if err != nil {
			if errors.Is(err, ErrNotLeader) {
				stale, batch = append(stale, batch...), nil
			}
			x.follows.done(append(batch, items...), stale)
			return err
		}
	}
	x.follows.done(nil, stale)
	return nil
}
