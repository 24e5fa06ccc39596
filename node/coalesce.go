package node

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// Leader-side coalescing of appends (issue 21). Every raft command the FSM
// applies costs one bbolt transaction on every replica: two fsyncs, one
// checkpoint signed and checked, the root-to-leaf pages of every bucket the
// command touches, and the checkpoint file (about 1-2 ms of CPU, against
// 35-40 us per record). Concurrent clients each proposing their own batch
// made raft deliver most commands alone (640 commands in 414 ApplyBatch
// calls in a 16-client ingest), so the leader merges the appends to the
// region's own ledger that wait while earlier ones are in flight into one
// op 1 command, and hands each caller its own part of the result.
//
// What stays as it was. Each caller's entries keep their order and stay
// contiguous in the merged command, so the FSM gives each the indices,
// freshness and covering checkpoint it would give the same entries
// proposed alone right after the previous parts (a concurrent order the
// callers could have had anyway): duplicates of an earlier part get that
// part's index, as they would once it had committed. A merged command the
// FSM refuses (a signing key refused at its index, an entry too large)
// appends nothing, so each caller then proposes its own command alone and
// gets its own answer; a failure (no longer leader, the wait ended) is
// every caller's, and propose retries each as before. Appends to other logs
// (the access log with its lookup charges, notices) and commands with a
// governance record are never merged (coalescable).

// coalescable says whether the leader may merge c with other commands: an
// append to the region's own ledger (not the access log) with no
// governance record. The FSM checks every entry's signing key against the
// keyring before it appends any entry of a command, and a governance
// record changes the keyring only once indexed, after its command's
// appends: merged, an entry signed by a key that a revocation in an
// earlier part revokes would pass that check, where proposed alone after
// it, it is refused. The test is admission's own (internal/admission
// CheckEntry): in canonical JSON the text "schema":"governance/ appears
// only as a governance record's schema member.
func (n *Node) coalescable(c command) bool {
	if c.op != opAppend || c.origin != n.origin || c.origin == n.access {
		return false
	}
	for _, e := range c.entries {
		if bytes.Contains(e, governanceSchema) {
			return false
		}
	}
	return true
}

var governanceSchema = []byte(`"schema":"governance/`)

// Bounds of coalescing: proposals in flight at once (one more can be in
// raft's log while the FSM applies the previous), and the size of a merged
// command.
const (
	coalesceInflight = 2
	coalesceEntries  = 2048
	coalesceBytes    = 4 << 20
)

// coalescer merges concurrent append commands to one log (see above). Its
// zero value is ready; it is used by the leader's proposers only.
type coalescer struct {
	mu       sync.Mutex
	pending  []*coalesced // waiting to be proposed, in arrival order; guarded by mu
	inflight int          // merged proposals being applied; guarded by mu
}

// coalesced is one caller's command in the coalescer.
type coalesced struct {
	entries [][]byte
	size    int           // bytes of entries
	turn    chan struct{} // closed when this caller must propose the head of pending
	done    chan struct{} // closed when res, err, alone are set
	hasTurn bool          // guarded by coalescer.mu
	res     *applyResult
	err     error
	alone   bool // the merged command was refused: propose this one alone
}

// apply proposes c (an op 1 command) merged with the other commands
// waiting, through propose (the raft apply of an encoded command, bounded
// by its context), and returns c's own part of the result. A caller whose
// ctx ends while it waits returns ctx's error; its entries may still
// commit, as with any proposal whose wait ended.
func (co *coalescer) apply(ctx context.Context, c command, cmd []byte, propose proposeFunc) (*applyResult, error) {
	w := &coalesced{entries: c.entries, turn: make(chan struct{}), done: make(chan struct{})}
	for _, e := range c.entries {
		w.size += len(e)
	}
	co.mu.Lock()
	co.pending = append(co.pending, w)
	if co.inflight < coalesceInflight {
		co.giveTurnLocked()
	}
	co.mu.Unlock()
	select {
	case <-w.done:
	case <-w.turn:
		co.flush(ctx, w, c, cmd, propose)
	case <-ctx.Done():
		co.mu.Lock()
		if w.hasTurn {
			// Given the turn as ctx ended: propose anyway (the commands
			// after it wait for a turn that only a flush passes on).
			co.mu.Unlock()
			co.flush(ctx, w, c, cmd, propose)
		} else if i := slices.Index(co.pending, w); i >= 0 {
			co.pending = slices.Delete(co.pending, i, i+1)
			co.mu.Unlock()
			return nil, ctx.Err()
		} else {
			co.mu.Unlock()
			return nil, ctx.Err() // taken into a proposal under way, which may still commit
		}
	}
	if w.alone {
		return propose(ctx, c, cmd)
	}
	return w.res, w.err
}

// giveTurnLocked makes the head of pending propose (co.mu held).
func (co *coalescer) giveTurnLocked() {
	if len(co.pending) == 0 {
		return
	}
	h := co.pending[0]
	if h.hasTurn {
		return
	}
	h.hasTurn = true
	co.inflight++
	close(h.turn)
}

// proposeFunc applies an op 1 command through raft on the leader and
// returns the FSM's result, bounded by ctx; cmd is c encoded (nil: not yet).
type proposeFunc func(ctx context.Context, c command, cmd []byte) (*applyResult, error)

// flush proposes the head of pending, w (the caller, whose command is c,
// encoded cmd), with the commands after it, up to the bounds, then passes
// the turn on.
func (co *coalescer) flush(ctx context.Context, w *coalesced, c command, cmd []byte, propose proposeFunc) {
	co.mu.Lock()
	if len(co.pending) == 0 || co.pending[0] != w {
		panic("creditx: coalescer turn given to a command not at the head of the queue")
	}
	n, entries, size := 1, len(co.pending[0].entries), co.pending[0].size
	for n < len(co.pending) {
		p := co.pending[n]
		if entries+len(p.entries) > coalesceEntries || size+p.size > coalesceBytes {
			break
		}
		entries, size = entries+len(p.entries), size+p.size
		n++
	}
	batch := slices.Clone(co.pending[:n])
	co.pending = slices.Delete(co.pending, 0, n)
	co.mu.Unlock()

	if len(batch) == 1 {
		w.res, w.err = propose(ctx, c, cmd)
	} else {
		merged := command{op: opAppend, origin: c.origin, entries: make([][]byte, 0, entries)}
		for _, w := range batch {
			merged.entries = append(merged.entries, w.entries...)
		}
		// Not the caller's ctx alone: the others wait on this proposal.
		pctx, cancel := proposeContext(context.WithoutCancel(ctx))
		res, err := propose(pctx, merged, nil)
		cancel()
		split(batch, res, err)
	}
	co.mu.Lock()
	co.inflight--
	co.giveTurnLocked()
	co.mu.Unlock()
	for _, w := range batch {
		close(w.done)
	}
}

// split hands each caller of batch its part of the merged command's
// result (res, err).
func split(batch []*coalesced, res *applyResult, err error) {
	if err == nil && res != nil && res.Err != nil {
		for _, w := range batch {
			w.alone = true // refused as a whole: nothing appended
		}
		return
	}
	off := 0
	for _, w := range batch {
		if err != nil || res == nil {
			w.err = err
			continue
		}
		k := len(w.entries)
		w.res = &applyResult{Origin: res.Origin, Indices: res.Indices[off : off+k : off+k], Fresh: res.Fresh[off : off+k : off+k],
			Size: res.Size, Checkpoint: res.Checkpoint, signs: res.signs}
		off += k
	}
}
