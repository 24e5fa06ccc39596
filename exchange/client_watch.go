package exchange

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// MaxCheckpointWait bounds how long a member's node holds a long-poll for
// a new checkpoint (GET /ledger/<code>/checkpoint?after=<size>, and the
// loop log's). It was 25 s, and every idle pair of members renewed its two
// long-polls that often: at 45 members in one process 158 HTTP/3 requests
// a second, most of the idle CPU (issue 20). A new checkpoint is answered
// at once whatever the wait; what the wait bounds is a wake-up lost on the
// way (CheckpointWaitFresh), and no longer how soon a dead peer under a
// parked long-poll is noticed: the QUIC keep-alive and idle timeout do that
// (client.go).
const MaxCheckpointWait = 3 * time.Minute

// CheckpointWaitFresh is the wait a watcher asks right after an answer
// that brought a new checkpoint (and at its start, and after a failure):
// the round in which a lost wake-up is looked for (watch.go rekick) stays
// as short as the long-poll used to be, so a wake-up lost after a change
// still costs at most this long; only a quiet round is followed by a long
// one.
const CheckpointWaitFresh = 25 * time.Second

// QuietRound is how often a quiet long-poll is renewed: a watcher whose
// last round brought nothing asks until the next multiple of QuietRound of
// the wall clock at least QuietRound/4 away (30 s to 2.5 min, 2 min on
// average). Aligned, the renewals of every watcher of a process (and, with
// clocks in step, of a consortium) come in one burst every QuietRound
// rather than one at a time: each wake-up of an idle process costs far
// more than the packet it handles (at 45 members in one process ~0.25 ms
// of CPU per UDP datagram idle), and a burst is handled in one go. The
// QUIC keep-alives of the connections, timed from the last packet each
// received, come in bursts with them.
const QuietRound = 2 * time.Minute

// longPollWait is the wait a watcher asks for at now: CheckpointWaitFresh
// if its last round brought news (fresh), else until the next QuietRound
// boundary.
func longPollWait(fresh bool, now time.Time) time.Duration {
	if fresh {
		return CheckpointWaitFresh
	}
	next := now.Truncate(QuietRound).Add(QuietRound)
	if next.Sub(now) < QuietRound/4 {
		next = next.Add(QuietRound)
	}
	return next.Sub(now)
}

// CheckpointAfter long-polls the member's served (witnessed) checkpoint:
// the member answers as soon as it has one larger than size, or after
// wait (at most MaxCheckpointWait) with the one it has. The answer is
// unverified. A node that does not know the parameter answers at once,
// as Checkpoint; callers must not assume the answer is larger than size.
// No answer within wait + RequestTimeout is a failure (and a fresh dial).
func (c *Client) CheckpointAfter(ctx context.Context, size uint64, wait time.Duration) ([]byte, error) {
	wait = min(wait, MaxCheckpointWait)
	path := "/ledger/" + c.mb.Code + "/checkpoint?after=" + strconv.FormatUint(size, 10) +
		"&wait=" + strconv.FormatInt(int64(wait/time.Millisecond), 10) + "ms"
	resp, b, err := c.doWithin(ctx, wait+RequestTimeout, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("member %s checkpoint: %s", c.mb.Code, resp.Status)
	}
	return b, nil
}
