package exchange

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// Learning of new checkpoints by long-poll (issue 20). A member used to
// poll every other member's checkpoint every second: N(N-1) requests per
// second in the consortium, each answer carrying every cosignature. Now
// each mirror keeps one request outstanding per peer (watchLoop),
// GET /ledger/<code>/checkpoint?after=<size>&wait=<d>, which the peer
// answers as soon as its witnessed checkpoint is larger than size (the
// replica calls OwnWitnessed after a batch stored one), or after wait (at most
// MaxCheckpointWait). A caller that is not a member (role member) gets the
// answer at once, as without the parameter: a long-poll holds a goroutine,
// so only members may park one.

// ownWitness is the own ledger's witnessed size in memory, for the
// long-polls (issue 20). Every parked long-poll used to wake on every batch
// the FSM applied and re-read the size from ledger.db: at 45 members, 44
// waiters per member woken by every listing, notice and mirror batch. Now
// the FSM hands the size of every own checkpoint it stored through op 4 to
// OwnWitnessed after the batch committed, and waiters wake only when the
// size grew.
//
// The size is read from ledger.db once (and again after a snapshot replaced
// it, StoreReplaced), then kept as the maximum of that read and every size
// OwnWitnessed reported: a commit is either in the transaction read or
// reported after it, and the stored witnessed size never shrinks (op 4
// keeps the larger), so the maximum is the stored size.
type ownWitness struct {
	mu    sync.Mutex
	known bool          // size includes a read of ledger.db
	gen   uint64        // bumped by StoreReplaced: a read begun before it is stale
	size  uint64        // largest witnessed size known
	grew  chan struct{} // closed when size grows; nil until first waited on
	reads atomic.Uint64 // reads of ledger.db (OwnReads)
	wakes atomic.Uint64 // times size grew with waiters parked (OwnWakes)
}

// OwnWitnessed tells the runtime the FSM committed a witnessed checkpoint
// of size for origin (op 4, after the batch's transaction committed). Only
// the own logs' are kept (the long-polls': the ledger's, and the loop log's
// when it is witnessed, so a replica that does not lead wakes its loop
// long-polls too); a size that is not larger than the one known wakes
// nobody.
func (x *Runtime) OwnWitnessed(origin string, size uint64) {
	if o := x.ownWitnessOf(origin); o != nil {
		o.grow(size)
	}
}

// ownWitnessOf is the in-memory witnessed size of own log origin (nil: not
// an own witnessed log).
func (x *Runtime) ownWitnessOf(origin string) *ownWitness {
	switch {
	case origin == x.origin:
		return &x.own
	case x.loop != nil && origin == x.loop.origin:
		return &x.loopOwn
	}
	return nil
}

func (o *ownWitness) grow(size uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if size <= o.size {
		return
	}
	o.size = size
	if o.grew != nil {
		close(o.grew)
		o.grew = nil
		o.wakes.Add(1)
	}
}

// StoreReplaced tells the runtime a snapshot replaced ledger.db: the
// witnessed sizes are read again, and every waiter looks again.
func (x *Runtime) StoreReplaced() {
	x.own.replaced()
	x.loopOwn.replaced()
}

func (o *ownWitness) replaced() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.known, o.size = false, 0
	o.gen++
	if o.grew != nil {
		close(o.grew)
		o.grew = nil
	}
}

// ownWitnessed is the own ledger's witnessed size and a channel closed
// when it grows (witnessedOf).
func (x *Runtime) ownWitnessed() (uint64, <-chan struct{}, error) {
	return x.witnessedOf(&x.own, x.origin)
}

// witnessedOf is own log origin's witnessed size (o its in-memory copy)
// and a channel closed when it grows. It reads ledger.db only the first
// time (and after StoreReplaced), never under o.mu (the FSM reports under
// its read lock).
func (x *Runtime) witnessedOf(o *ownWitness, origin string) (uint64, <-chan struct{}, error) {
	for {
		o.mu.Lock()
		if o.known {
			if o.grew == nil {
				o.grew = make(chan struct{})
			}
			size, ch := o.size, o.grew
			o.mu.Unlock()
			return size, ch, nil
		}
		gen := o.gen
		o.mu.Unlock()
		o.reads.Add(1)
		_, w, err := x.ownStateOf(origin)
		if err != nil {
			return 0, nil, err
		}
		o.mu.Lock()
		if o.gen == gen {
			o.known, o.size = true, max(o.size, w)
		}
		o.mu.Unlock()
	}
}

// OwnReads is how many times the long-polls read the own witnessed size
// from ledger.db; OwnWakes how many times it grew while long-polls were
// parked (each time wakes them all).
func (x *Runtime) OwnReads() uint64 { return x.own.reads.Load() }
func (x *Runtime) OwnWakes() uint64 { return x.own.wakes.Load() }

// WaitCheckpoint holds a member's long-poll for the own checkpoint (query
// after=<size>, optional wait=<duration>) until the own witnessed size
// exceeds after, the wait passed, or the caller left; the handler then
// serves the checkpoint as usual. Other callers, and a query
// longPollQuery refuses, return at once. hold (not nil) is called with the wait
// before the request is held: the handler moves its answer's write
// deadline past it (node: httpx.Timeouts.Hold; a deadline that passes
// during the hold loses the answer).
func (x *Runtime) WaitCheckpoint(r *http.Request, hold func(wait time.Duration)) {
	after, wait, ok := x.longPollQuery(r)
	if !ok {
		return
	}
	hold(wait)
	x.waitOwn(r.Context(), after, wait)
}

// longPollQuery reads a long-poll of an own checkpoint (WaitCheckpoint,
// WaitLoopCheckpoint): ok only for a member's request whose query
// parseLongPoll accepts. A refused query is logged (debug) with its
// reason; the caller answers at once, as without the parameters.
func (x *Runtime) longPollQuery(r *http.Request) (after uint64, wait time.Duration, ok bool) {
	if id := pki.IdentityFromRequest(r); id.Role != pki.RoleMember {
		return 0, 0, false
	}
	after, wait, err := parseLongPoll(r.URL.Query())
	if err != nil {
		x.logger.Debug("checkpoint long-poll answered at once", "path", r.URL.Path, "err", err)
		return 0, 0, false
	}
	return after, wait, true
}

// parseLongPoll reads after=<size> (required: a decimal uint64) and
// wait=<duration> (optional, time.ParseDuration, at least 0; more than
// MaxCheckpointWait is cut to it, none is CheckpointWaitFresh, what the
// long-poll held before a caller could ask for more). The error names the
// parameter and why it was refused.
func parseLongPoll(q url.Values) (after uint64, wait time.Duration, err error) {
	a := q.Get("after")
	if after, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("after=%q is not a checkpoint size: %w", a, err)
	}
	wait = CheckpointWaitFresh
	if w := q.Get("wait"); w != "" {
		d, err := time.ParseDuration(w)
		switch {
		case err != nil:
			return 0, 0, fmt.Errorf("wait=%q is not a duration: %w", w, err)
		case d < 0:
			return 0, 0, fmt.Errorf("wait=%q is negative", w)
		}
		wait = min(d, MaxCheckpointWait)
	}
	return after, wait, nil
}

// waitOwn waits until the own witnessed size exceeds after, wait passed
// or ctx ended.
func (x *Runtime) waitOwn(ctx context.Context, after uint64, wait time.Duration) {
	x.waitWitnessed(ctx, &x.own, x.origin, after, wait)
}

// waitWitnessed waits until own log origin's witnessed size (o) exceeds
// after, wait passed or ctx ended.
func (x *Runtime) waitWitnessed(ctx context.Context, o *ownWitness, origin string, after uint64, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		witnessed, grew, err := x.witnessedOf(o, origin)
		if err != nil || witnessed > after {
			return
		}
		select {
		case <-grew:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchLoop keeps a long-poll outstanding on member code's checkpoint
// while this replica leads and hands every new answer to the mirror loop
// (setServed, then a kick). A peer that answers at once without anything
// new (an older node ignoring the parameter) is asked again only after
// PullInterval: the old polling. The round after one that brought a
// checkpoint (or woke the mirror again) asks CheckpointWaitFresh, one after
// a quiet round up to the next QuietRound boundary (longPollWait).
func (x *Runtime) watchLoop(ctx context.Context, code string) {
	mb, _ := x.m().Member(code)
	origin := mb.Origin()
	var seen uint64
	var last []byte // the answer of size seen
	backoff := x.cfg.PullInterval
	fresh := true // the last round brought news: ask a short wait (longPollWait)
	for ctx.Err() == nil {
		c := x.client(code)
		if !x.host.IsLeader() || c == nil {
			sleepCtx(ctx, x.cfg.PullInterval)
			continue
		}
		start := time.Now()
		b, err := c.CheckpointAfter(ctx, seen, longPollWait(fresh, time.Now()))
		if err != nil {
			if ctx.Err() == nil {
				x.logger.Debug("checkpoint long-poll failed", "member", code, "err", err)
			}
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, 10*time.Second)
			fresh = true
			continue
		}
		backoff = x.cfg.PullInterval
		if size := servedSize(b); size > seen {
			seen, last, fresh = size, b, true
			x.setServed(origin, b)
			if k := x.kickChan(origin); k != nil {
				kick(k)
			}
			continue
		}
		fresh = x.rekick(origin, seen, last)
		if time.Since(start) < CheckpointWaitFresh/2 {
			sleepCtx(ctx, x.cfg.PullInterval) // answered at once with nothing new
		}
	}
}

// rekick hands the last served checkpoint (last, of size seen) to origin's
// mirror loop again when a long-poll round brought nothing new and the
// mirror still holds less than seen: the wake-up for it was lost on the way
// (at 45 members one run in about three waited for the in-sync re-check,
// 5 min, with no cause found; exchange/DESIGN.md), and the next long-poll
// asks only after seen, so nothing else would wake it. A lost wake-up so
// costs one long-poll round, the short one that follows news
// (CheckpointWaitFresh). One read of ledger.db per round and pair; a
// mirror that cannot move (stopped by an alert) is woken once a round and
// returns at once. It reports whether it woke the mirror.
func (x *Runtime) rekick(origin string, seen uint64, last []byte) bool {
	if last == nil {
		return false
	}
	var held uint64
	if err := x.host.View(func(tx *ledger.ReadTx) error {
		fr, err := readFrontier(tx, origin)
		if err == nil {
			held = fr.Size()
		}
		return err
	}); err != nil || held >= seen {
		return false
	}
	x.work.rekicks.Add(1)
	x.setServed(origin, last)
	if k := x.kickChan(origin); k != nil {
		kick(k)
	}
	return true
}

// servedSize is the tree size line of an (unverified) checkpoint, 0 if
// unreadable: only where the next long-poll starts; the mirror verifies.
func servedSize(b []byte) uint64 {
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 3 {
		return 0
	}
	n, _ := strconv.ParseUint(lines[1], 10, 64)
	return n
}

// setServed keeps the latest checkpoint origin's member served, for the
// mirror's target (mirror_loop.go), so a kick does not fetch it again.
func (x *Runtime) setServed(origin string, b []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.served == nil {
		x.served = map[string][]byte{}
	}
	x.served[origin] = b
}

// takeServed returns the checkpoint the watch loop received for origin
// since the last call, if any.
func (x *Runtime) takeServed(origin string) []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.served[origin]
	delete(x.served, origin)
	return b
}

// CheckpointChecks is how many checkpoint signature checks the runtime's
// cache made (status reads and mirror targets hit it; issue 20).
func (x *Runtime) CheckpointChecks() uint64 { return x.cpCache.Checks() }

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
