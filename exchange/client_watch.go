package exchange

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// MaxCheckpointWait bounds how long a member's node holds a long-poll for
// a new checkpoint (GET /ledger/<code>/checkpoint?after=<size>).
const MaxCheckpointWait = 25 * time.Second

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
