package node

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/pki"
)

// Learning of new checkpoints by long-poll (issue 20). A member used to
// poll every other member's checkpoint every second: N(N-1) requests per
// second in the consortium, each answer carrying every cosignature. Now
// each mirror keeps one request outstanding per peer,
// GET /ledger/<code>/checkpoint?after=<size>&wait=<d>, which the peer
// answers as soon as its witnessed checkpoint is larger than size (the FSM
// wakes the waiters after every applied batch), or after wait (at most
// exchange.MaxCheckpointWait). A caller that is not a member (role member)
// gets the answer at once, as without the parameter: a long-poll holds a
// goroutine, so only members may park one.

// waitWitnessed holds a member's long-poll until the own witnessed size
// exceeds the query's after, its wait passed, or the caller left.
func (x *exchangeNode) waitWitnessed(r *http.Request, afterQ string) {
	if id := pki.IdentityFromRequest(r); id.Role != pki.RoleMember {
		return
	}
	after, err := strconv.ParseUint(afterQ, 10, 64)
	if err != nil {
		return
	}
	wait := exchange.MaxCheckpointWait
	if q := r.URL.Query().Get("wait"); q != "" {
		if d, err := time.ParseDuration(q); err == nil && d >= 0 {
			wait = min(d, wait)
		}
	}
	x.waitOwn(r.Context(), after, wait)
}

// waitOwn waits until the own witnessed size exceeds after, wait passed
// or ctx ended.
func (x *exchangeNode) waitOwn(ctx context.Context, after uint64, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		changed := x.n.sanctions.wait() // before reading: no wake-up is lost
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
// (latest, then a kick). A peer that answers at once without anything new
// (an older node ignoring the parameter, or one without a witnessed
// checkpoint) is asked again only after PullInterval: the old polling.
func (x *exchangeNode) watchLoop(ctx context.Context, code string) {
	mb, _ := x.m().Member(code)
	origin := mb.Origin()
	var seen uint64
	backoff := x.n.cfg.Exchange.PullInterval
	for ctx.Err() == nil {
		if !x.n.IsLeader() {
			sleepCtx(ctx, x.n.cfg.Exchange.PullInterval)
			continue
		}
		c := x.client(code)
		if c == nil {
			sleepCtx(ctx, x.n.cfg.Exchange.PullInterval)
			continue
		}
		start := time.Now()
		b, err := c.CheckpointAfter(ctx, seen, exchange.MaxCheckpointWait)
		if err != nil {
			if ctx.Err() == nil {
				x.logger.Debug("checkpoint long-poll failed", "member", code, "err", err)
			}
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = x.n.cfg.Exchange.PullInterval
		size := servedSize(b)
		if size > seen {
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
		if time.Since(start) < exchange.MaxCheckpointWait/2 {
			sleepCtx(ctx, x.n.cfg.Exchange.PullInterval) // answered at once with nothing new
		}
	}
}

// servedSize is the tree size line of an (unverified) checkpoint, 0 if
// unreadable. Only a hint for the next long-poll: the mirror verifies.
func servedSize(b []byte) uint64 {
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 3 {
		return 0
	}
	n, _ := strconv.ParseUint(lines[1], 10, 64)
	return n
}

// setServed keeps the latest checkpoint origin's member served, for the
// mirror's target (mirror.go), so a kick does not fetch it again.
func (x *exchangeNode) setServed(origin string, b []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.served == nil {
		x.served = map[string][]byte{}
	}
	x.served[origin] = b
}

// takeServed returns the checkpoint the watch loop received for origin
// since the last call, if any.
func (x *exchangeNode) takeServed(origin string) []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.served[origin]
	delete(x.served, origin)
	return b
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
