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

// TestLoopPushPacing: the ledger is pushed at PushInterval with no wait
// after an apply; the loop log at loopPushEvery, and only loopPushEvery
// after an apply woke its push loop (a listing's wave of notices coalesces
// in one witnessed loop checkpoint, after the listing propagated).
func TestLoopPushPacing(t *testing.T) {
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", newFakeHost(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	x.cfg.PushInterval = 100 * time.Millisecond
	if i, s := x.pushPacing(x.ledgerLog()); i != 100*time.Millisecond || s != 0 {
		t.Errorf("ledger: interval %v settle %v, want 100ms and 0", i, s)
	}
	loop := ownLog{origin: "creditx.330000/loop"}
	if i, s := x.pushPacing(loop); i != loopPushEvery || s != loopPushEvery {
		t.Errorf("loop log: interval %v settle %v, want %v for both", i, s, loopPushEvery)
	}
	x.cfg.PushInterval = 3 * loopPushEvery
	if i, s := x.pushPacing(loop); i != 3*loopPushEvery || s != 3*loopPushEvery {
		t.Errorf("loop log with a longer PushInterval: interval %v settle %v, want PushInterval", i, s)
	}
}
