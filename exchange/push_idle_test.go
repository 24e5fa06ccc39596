package exchange

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
)

// viewCounter is a fakeHost counting its reads.
type viewCounter struct {
	*fakeHost
	views atomic.Int64
}

func (h *viewCounter) View(fn func(tx *ledger.ReadTx) error) error {
	h.views.Add(1)
	return h.fakeHost.View(fn)
}

// TestPushLoopSleepsUntilApplied: an idle leader's push loop (nothing of
// its own to have witnessed) reads its state once and then sleeps: no read
// in 30 push intervals (it used to read every interval, issue 20's idle
// CPU), until Applied wakes it; then it reads again. The safety look is an
// hour away here, so only Applied can wake it.
func TestPushLoopSleepsUntilApplied(t *testing.T) {
	h := &viewCounter{fakeHost: newFakeHost(t)}
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.cfg.PushInterval, x.pushIdle = 10*time.Millisecond, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); x.pushLoop(ctx, x.ledgerLog()) }()
	defer func() { cancel(); <-done }()

	waitViews := func(n int64, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for h.views.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d reads after 30 s, want %d", what, h.views.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitViews(1, "first look")
	time.Sleep(30 * x.cfg.PushInterval)
	if n := h.views.Load(); n != 1 {
		t.Fatalf("an idle push loop read its state %d times in 30 intervals without an apply, want 1", n)
	}
	x.Applied()
	waitViews(2, "after Applied")
	x.Applied() // and again
	waitViews(3, "after a second Applied")
}
