package exchange

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// deadlineRT answers every request at once with 200 and records how far
// its context's deadline was when it was sent.
type deadlineRT struct{ left []time.Duration }

func (d *deadlineRT) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	if !ok {
		dl = time.Now().Add(time.Hour)
	}
	d.left = append(d.left, time.Until(dl))
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("x\n")), Request: r}, nil
}

// TestLongPollsOutliveTheirWait: both long-polls, the ledger's and the
// loop log's, give the member the whole wait to answer (the member holds
// them up to MaxCheckpointWait, longer than RequestTimeout). A loop
// long-poll bounded by RequestTimeout failed whenever nothing was new for
// 10 s, and each failure redialled the connection to that member (issue
// 20).
func TestLongPollsOutliveTheirWait(t *testing.T) {
	m := parsed(t, testManifest(t, "310000", "320000", "330000"))
	mb, _ := m.Member("310000")
	rt := &deadlineRT{}
	c := &Client{mb: mb, hc: &http.Client{Transport: rt}}
	ctx := context.Background()
	if _, err := c.CheckpointAfter(ctx, 1, MaxCheckpointWait); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoopCheckpointAfter(ctx, 1, MaxCheckpointWait); err != nil {
		t.Fatal(err)
	}
	for i, left := range rt.left {
		if left <= MaxCheckpointWait {
			t.Errorf("long-poll %d sent with %v left before its deadline, not more than the wait %v", i, left, MaxCheckpointWait)
		}
	}
	if c.Redials() != 0 {
		t.Errorf("%d redials after two answered requests", c.Redials())
	}
}
