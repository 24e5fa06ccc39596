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

// TestLoopPushPacing: the ledger is pushed at every look, PushInterval
// apart, with no wait after an apply; the loop log is looked at every
// loopQuiet, also after an apply woke its push loop, and waits at most
// loopPushEvery (a listing's wave of notices coalesces in one witnessed
// loop checkpoint, after the listing propagated).
func TestLoopPushPacing(t *testing.T) {
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", newFakeHost(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	x.cfg.PushInterval = 100 * time.Millisecond
	if i, s, e := x.pushPacing(x.ledgerLog()); i != 100*time.Millisecond || s != 0 || e != 0 {
		t.Errorf("ledger: interval %v settle %v every %v, want 100ms, 0 and 0", i, s, e)
	}
	loop := ownLog{origin: "creditx.330000/loop"}
	if i, s, e := x.pushPacing(loop); i != loopQuiet || s != loopQuiet || e != loopPushEvery {
		t.Errorf("loop log: interval %v settle %v every %v, want %v, %v and %v", i, s, e, loopQuiet, loopQuiet, loopPushEvery)
	}
	x.cfg.PushInterval = 3 * loopPushEvery
	if i, s, e := x.pushPacing(loop); i != 3*loopPushEvery || s != 3*loopPushEvery || e != 3*loopPushEvery {
		t.Errorf("loop log with a longer PushInterval: interval %v settle %v every %v, want PushInterval for all", i, s, e)
	}
}

// TestLoopPushDue: a loop log that stopped growing between two looks is
// pushed at once; one still growing waits, until its first unpushed look
// is loopPushEvery old (a log written without a pause is still pushed).
func TestLoopPushDue(t *testing.T) {
	for _, c := range []struct {
		grew   bool
		waited time.Duration
		want   bool
	}{
		{grew: false, waited: 0, want: true},
		{grew: false, waited: loopQuiet, want: true},
		{grew: true, waited: 0, want: false},
		{grew: true, waited: loopPushEvery - time.Millisecond, want: false},
		{grew: true, waited: loopPushEvery, want: true},
		{grew: true, waited: 3 * loopPushEvery, want: true},
	} {
		if got := loopPushDue(c.grew, c.waited, loopPushEvery); got != c.want {
			t.Errorf("loopPushDue(grew %v, waited %v) = %v, want %v", c.grew, c.waited, got, c.want)
		}
	}
}
