package exchange

import (
	"context"
	"encoding/binary"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
)

// TestLongPollsWakeOnlyWhenWitnessedGrows: parked long-polls read the own
// witnessed size from ledger.db once between them, are not woken by batches
// that store no larger own witnessed checkpoint (another origin's, or the
// same size), and all return once it passes their size (issue 20: every
// applied batch used to wake all 44 waiters of a member, each re-reading
// ledger.db).
func TestLongPollsWakeOnlyWhenWitnessedGrows(t *testing.T) {
	h := newFakeHost(t)
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Witnessed size 2 in ledger.db, as op 4 stores it.
	err = h.store.Update(func(tx *ledger.Tx) error {
		b, err := tx.Bucket(BucketWitnessed)
		if err != nil {
			return err
		}
		return b.Put([]byte(x.origin), append(binary.BigEndian.AppendUint64(nil, 2), "note"...))
	})
	if err != nil {
		t.Fatal(err)
	}
	x.waitOwn(context.Background(), 1, time.Hour) // 2 > 1: at once
	if n := x.OwnReads(); n != 1 {
		t.Fatalf("first long-poll read ledger.db %d times, want 1", n)
	}

	const waiters = 20
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() { x.waitOwn(context.Background(), 5, time.Hour) })
	}
	size, grew, err := x.ownWitnessed() // what a parked waiter holds
	if err != nil || size != 2 {
		t.Fatalf("own witnessed = %d, %v; want 2", size, err)
	}
	// Batches that store nothing larger for the own ledger wake nobody.
	x.OwnWitnessed("creditx.310000/ledger", 100)
	x.OwnWitnessed(x.origin, 2)
	x.OwnWitnessed(x.origin, 1)
	select {
	case <-grew:
		t.Error("waiters woken by batches that stored no larger own witnessed checkpoint")
	default:
	}
	if n := x.OwnWakes(); n != 0 {
		t.Errorf("no larger own witnessed size: %d wake-ups, want 0", n)
	}
	// Growing to 4 (not past 5) wakes them once; growing to 6 releases
	// them all.
	x.OwnWitnessed(x.origin, 4)
	select {
	case <-grew:
	default:
		t.Error("waiters not woken when the own witnessed size grew")
	}
	x.OwnWitnessed(x.origin, 6)
	wg.Wait()
	if n := x.OwnWakes(); n < 1 || n > 2 {
		t.Errorf("two growths: %d wake-ups, want 1 or 2", n)
	}
	if n := x.OwnReads(); n != 1 {
		t.Errorf("%d long-polls read ledger.db %d times in all, want 1 (the size is kept in memory)", waiters+1, n)
	}
	// A snapshot replaced ledger.db: read again.
	x.StoreReplaced()
	x.waitOwn(context.Background(), 1, time.Hour)
	if n := x.OwnReads(); n != 2 {
		t.Errorf("after StoreReplaced: %d reads in all, want 2", n)
	}
}

// TestLoopLongPollsWakeOnlyWhenLoopWitnessedGrows: the own loop log's
// long-polls (WaitLoopCheckpoint) are woken by the FSM's report of a larger
// witnessed loop checkpoint (OwnWitnessed, on every replica), not by the
// ledger's, not on a timer, and read ledger.db once between them; the
// ledger's long-polls are not woken by the loop log's.
func TestLoopLongPollsWakeOnlyWhenLoopWitnessedGrows(t *testing.T) {
	h := newFakeHost(t)
	x, err := NewOffline(testManifest(t, "310000", "330000"), "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	loop := "creditx.330000/loop"
	x.loop = &ownLog{origin: loop}
	err = h.store.Update(func(tx *ledger.Tx) error {
		b, err := tx.Bucket(BucketWitnessed)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(x.origin), append(binary.BigEndian.AppendUint64(nil, 7), "note"...)); err != nil {
			return err
		}
		return b.Put([]byte(loop), append(binary.BigEndian.AppendUint64(nil, 2), "note"...))
	})
	if err != nil {
		t.Fatal(err)
	}
	x.waitWitnessed(context.Background(), &x.loopOwn, loop, 1, time.Hour) // 2 > 1: at once
	if n := x.loopOwn.reads.Load(); n != 1 {
		t.Fatalf("first loop long-poll read ledger.db %d times, want 1", n)
	}
	const waiters = 10
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() { x.waitWitnessed(context.Background(), &x.loopOwn, loop, 5, time.Hour) })
	}
	size, grew, err := x.witnessedOf(&x.loopOwn, loop)
	if err != nil || size != 2 {
		t.Fatalf("own loop witnessed = %d, %v; want 2", size, err)
	}
	_, ledgerGrew, err := x.ownWitnessed()
	if err != nil {
		t.Fatal(err)
	}
	x.OwnWitnessed(x.origin, 100) // the ledger's
	x.OwnWitnessed("creditx.310000/loop", 100)
	x.OwnWitnessed(loop, 2)
	select {
	case <-grew:
		t.Error("loop long-polls woken by batches that stored no larger own loop checkpoint")
	default:
	}
	if n := x.loopOwn.wakes.Load(); n != 0 {
		t.Errorf("loop wake-ups %d, want 0", n)
	}
	x.OwnWitnessed(loop, 6)
	wg.Wait()
	select {
	case <-ledgerGrew:
	default:
		t.Error("the ledger's long-polls not woken when the ledger's witnessed size grew")
	}
	if got, _, _ := x.ownWitnessed(); got != 100 {
		t.Errorf("own ledger witnessed %d after the loop log grew, want 100", got)
	}
	if n := x.loopOwn.reads.Load(); n != 1 {
		t.Errorf("%d loop long-polls read ledger.db %d times, want 1", waiters+1, n)
	}
	// A snapshot replaced ledger.db: the loop size is read again.
	x.StoreReplaced()
	if size, _, err := x.witnessedOf(&x.loopOwn, loop); err != nil || size != 2 || x.loopOwn.reads.Load() != 2 {
		t.Errorf("after StoreReplaced: size %d (%v), reads %d; want 2 from a second read", size, err, x.loopOwn.reads.Load())
	}
}

// TestParseLongPoll: the one parse of both long-polls' query
// (WaitCheckpoint, WaitLoopCheckpoint): a bad after or wait is refused
// naming the parameter and why (the caller then answers at once); wait is
// cut to MaxCheckpointWait and defaults to CheckpointWaitFresh.
func TestParseLongPoll(t *testing.T) {
	for _, tc := range []struct {
		query   string
		after   uint64
		wait    time.Duration
		wantErr string // "": accepted
	}{
		{"after=7", 7, CheckpointWaitFresh, ""},
		{"after=7&wait=150000ms", 7, 150 * time.Second, ""},
		{"after=7&wait=250ms", 7, 250 * time.Millisecond, ""},
		{"after=0&wait=0s", 0, 0, ""},
		{"after=7&wait=10h", 7, MaxCheckpointWait, ""},
		{"wait=1s", 0, 0, `after="" is not a checkpoint size`},
		{"after=-1", 0, 0, `after="-1" is not a checkpoint size`},
		{"after=seven&wait=1s", 0, 0, `after="seven" is not a checkpoint size`},
		{"after=7&wait=soon", 0, 0, `wait="soon" is not a duration`},
		{"after=7&wait=-1s", 0, 0, `wait="-1s" is negative`},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		after, wait, err := parseLongPoll(q)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.query, err)
		case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one starting %q", tc.query, err, tc.wantErr)
		case after != tc.after || wait != tc.wait:
			t.Errorf("%s: after %d, wait %v; want %d, %v", tc.query, after, wait, tc.after, tc.wait)
		}
	}
}

// TestLongPollWait: after news a watcher asks the short wait; after a
// quiet round it asks until a QuietRound boundary of the clock at least a
// quarter round away, never more than the member holds
// (MaxCheckpointWait), so quiet renewals come together (issue 20: idle
// CPU).
func TestLongPollWait(t *testing.T) {
	if got := longPollWait(true, time.Now()); got != CheckpointWaitFresh {
		t.Errorf("after news: %v, want %v", got, CheckpointWaitFresh)
	}
	base := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC) // on a boundary
	for _, tc := range []struct {
		at, want time.Duration // since base
	}{
		{0, QuietRound},
		{time.Second, QuietRound - time.Second},
		{QuietRound * 3 / 4, QuietRound / 4},
		{QuietRound*3/4 + time.Millisecond, 2*QuietRound - QuietRound*3/4 - time.Millisecond},
		{QuietRound - time.Second, QuietRound + time.Second},
	} {
		now := base.Add(tc.at)
		got := longPollWait(false, now)
		if got != tc.want {
			t.Errorf("quiet at +%v: wait %v, want %v", tc.at, got, tc.want)
		}
		if end := now.Add(got); !end.Truncate(QuietRound).Equal(end) {
			t.Errorf("quiet at +%v: ends at %v, not on a %v boundary", tc.at, end, QuietRound)
		}
		if got < QuietRound/4 || got > MaxCheckpointWait {
			t.Errorf("quiet at +%v: wait %v outside [%v, %v]", tc.at, got, QuietRound/4, MaxCheckpointWait)
		}
	}
}
