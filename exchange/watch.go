package exchange

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/pki"
)

// Learning of new checkpoints by long-poll (issue 20). A member used to
// poll every other member's checkpoint every second: N(N-1) requests per
// second in the consortium, each answer carrying every cosignature. Now
// each mirror keeps one request outstanding per peer (watchLoop),
// GET /ledger/<code>/checkpoint?after=<size>&wait=<d>, which the peer
// answers as soon as its witnessed checkpoint is larger than size (the
// replica calls Applied after every applied batch), or after wait (at most
// MaxCheckpointWait). A caller that is not a member (role member) gets the
// answer at once, as without the parameter: a long-poll holds a goroutine,
// so only members may park one.

// broadcast wakes every waiter at once: Wait returns a channel closed by
// the next Notify.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{} // guarded by mu; nil until first Wait
}

func (b *broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// WaitCheckpoint holds a member's long-poll for the own checkpoint (query
// after=<size>, optional wait=<duration>) until the own witnessed size
// exceeds after, the wait passed, or the caller left; the handler then
// serves the checkpoint as usual. Other callers return at once.
func (x *Runtime) WaitCheckpoint(r *http.Request) {
	if id := pki.IdentityFromRequest(r); id.Role != pki.RoleMember {
		return
	}
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		return
	}
	wait := MaxCheckpointWait
	if q := r.URL.Query().Get("wait"); q != "" {
		if d, err := time.ParseDuration(q); err == nil && d >= 0 {
			wait = min(d, wait)
		}
	}
	x.waitOwn(r.Context(), after, wait)
}

// waitOwn waits until the own witnessed size exceeds after, wait passed
// or ctx ended.
func (x *Runtime) waitOwn(ctx context.Context, after uint64, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		changed := x.applied.Wait() // before reading: no wake-up is lost
		if _, witnessed, err := x.ownState(); err != nil || witnessed > after {
			return
		}
		select {
		case <-changed:
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
// PullInterval: the old polling.
func (x *Runtime) watchLoop(ctx context.Context, code string) {
	mb, _ := x.m().Member(code)
	origin := mb.Origin()
	var seen uint64
	backoff := x.cfg.PullInterval
	for ctx.Err() == nil {
		c := x.client(code)
		if !x.host.IsLeader() || c == nil {
			sleepCtx(ctx, x.cfg.PullInterval)
			continue
		}
		start := time.Now()
		b, err := c.CheckpointAfter(ctx, seen, MaxCheckpointWait)
		if err != nil {
			if ctx.Err() == nil {
				x.logger.Debug("checkpoint long-poll failed", "member", code, "err", err)
			}
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = x.cfg.PullInterval
		if size := servedSize(b); size > seen {
			seen = size
			x.setServed(origin, b)
			if k := x.kickChan(origin); k != nil {
				select {
				case k <- struct{}{}:
				default:
				}
			}
			continue
		}
		if time.Since(start) < MaxCheckpointWait/2 {
			sleepCtx(ctx, x.cfg.PullInterval) // answered at once with nothing new
		}
	}
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
