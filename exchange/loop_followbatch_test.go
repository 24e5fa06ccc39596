package exchange

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testTree is the root of a tree of the first n of 12 fixed leaves and a
// reader of its hashes.
func testTree(t *testing.T, n int) (tlog.Hash, tlog.HashReader) {
	t.Helper()
	var hs []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = hs[x]
		}
		return out, nil
	})
	for i := 0; i < n; i++ {
		rs, err := tlog.StoredHashes(int64(i), []byte{byte(i), 'e'}, hr)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, rs...)
	}
	root, err := tlog.TreeHash(int64(n), hr)
	if err != nil {
		t.Fatal(err)
	}
	return root, hr
}

// TestFollowBatch: the queued followed checkpoints of several loop logs
// are stored by one OpFollow; the apply function re-checks every item and
// stores all or none (a bad proof in one item refuses the command, naming
// the item, and leaves every followed checkpoint as it was); an origin
// twice in one command is refused; a queued checkpoint based on another
// stored size is dropped (alone, and reported lost so its follow loop
// starts again); waitStored returns once the batch is stored.
func TestFollowBatch(t *testing.T) {
	h := newFakeHost(t)
	h.leader = true
	x, err := NewOffline(testManifest(t, "310000", "320000", "330000"), "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	origins := []string{"creditx.310000/loop", "creditx.320000/loop"}
	signers := map[string]note.Signer{}
	for _, o := range origins {
		skey, vkey, err := note.GenerateKey(rand.Reader, o)
		if err != nil {
			t.Fatal(err)
		}
		signers[o], _ = note.NewSigner(skey)
		h.peers[o], _ = note.NewVerifier(vkey)
	}
	r5, _ := testTree(t, 5)
	r12, hr12 := testTree(t, 12)
	proof, err := tlog.ProveTree(12, 5, hr12)
	if err != nil {
		t.Fatal(err)
	}
	queue := func(o string, old, size uint64, root tlog.Hash, p tlog.TreeProof) {
		t.Helper()
		signed, err := ledger.SignCheckpoint(signers[o], o, size, root)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := ledger.OpenCheckpoint(signed, o, h.peers[o])
		if err != nil {
			t.Fatal(err)
		}
		x.follows.queue(Follow{Origin: o, OldSize: old, Proof: p, Checkpoint: signed}, cp)
	}
	held := func(o string) uint64 {
		t.Helper()
		var f Followed
		if err := h.View(func(tx *ledger.ReadTx) (err error) { f, err = ReadFollowed(tx, o); return err }); err != nil {
			t.Fatal(err)
		}
		return f.Size
	}
	ctx := context.Background()

	for _, o := range origins {
		queue(o, 0, 5, r5, nil)
	}
	if err := x.flushFollows(ctx); err != nil {
		t.Fatal(err)
	}
	if n := x.FollowCommands(); n != 1 {
		t.Fatalf("two loop logs advanced: %d follow commands, want 1", n)
	}
	for _, o := range origins {
		if s := held(o); s != 5 {
			t.Fatalf("%s followed at %d, want 5", o, s)
		}
	}

	// One good item, one with a bad proof: nothing stored.
	queue(origins[0], 5, 12, r12, proof)
	queue(origins[1], 5, 12, r12, tlog.TreeProof{{7}})
	err = x.flushFollows(ctx)
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), origins[1]) {
		t.Fatalf("batch with a bad item: %v, want ErrInconsistent naming %s", err, origins[1])
	}
	for _, o := range origins {
		if s := held(o); s != 5 {
			t.Fatalf("refused batch changed %s to %d", o, s)
		}
	}

	// The same origin twice in one command.
	signed, _ := ledger.SignCheckpoint(signers[origins[0]], origins[0], 12, r12)
	res, err := h.Propose(ctx, Command{Op: OpFollow, Origin: origins[0], OldSize: 5, Proof: proof, Checkpoint: signed,
		Follows: []Follow{{Origin: origins[0], OldSize: 5, Proof: proof, Checkpoint: signed}}})
	if err != nil || res.Err() == nil || !strings.Contains(res.Err().Error(), "twice") {
		t.Fatalf("origin twice: %v, %v; want a refusal", res.Err(), err)
	}
	if s := held(origins[0]); s != 5 {
		t.Fatalf("refused command changed %s to %d", origins[0], s)
	}

	// A queued checkpoint based on another stored size is dropped.
	queue(origins[0], 4, 12, r12, proof)
	if q := x.follows.queued(origins[0], 5); q != nil {
		t.Fatalf("queued item based on size 4 kept against stored 5: %+v", q.Follow)
	}
	// The refused batch above dropped both: their follow loops start again.
	for _, o := range origins {
		if !x.follows.takeLost(o) || x.follows.takeLost(o) {
			t.Fatalf("%s: dropped by a refused command but not reported lost exactly once", o)
		}
	}
	// At flush, an item whose base is no longer the stored size is dropped
	// alone (reported lost); the others are stored.
	r8, hr8 := testTree(t, 8)
	p58, err := tlog.ProveTree(8, 5, hr8)
	if err != nil {
		t.Fatal(err)
	}
	queue(origins[0], 4, 12, r12, proof)
	queue(origins[1], 5, 8, r8, p58)
	if err := x.flushFollows(ctx); err != nil {
		t.Fatal(err)
	}
	if held(origins[0]) != 5 || held(origins[1]) != 8 || !x.follows.takeLost(origins[0]) || x.follows.takeLost(origins[1]) {
		t.Fatalf("stale item: followed %d and %d, want 5 (dropped, lost) and 8", held(origins[0]), held(origins[1]))
	}
	p812, err := tlog.ProveTree(12, 8, hr12)
	if err != nil {
		t.Fatal(err)
	}

	// Both advance consistently: one more command stores both; a custodian
	// waiting for its origin returns once it is stored.
	queue(origins[0], 5, 12, r12, proof)
	queue(origins[1], 8, 12, r12, p812)
	if q := x.follows.queued(origins[1], 8); q == nil || q.size != 12 || q.root != r12 {
		t.Fatalf("queued reference %+v, want size 12", q)
	}
	waited := make(chan struct{})
	go func() { x.follows.waitStored(ctx, origins[1], time.Hour); close(waited) }()
	if err := x.flushFollows(ctx); err != nil {
		t.Fatal(err)
	}
	<-waited
	for _, o := range origins {
		if s := held(o); s != 12 {
			t.Fatalf("%s followed at %d, want 12", o, s)
		}
	}
	if n := x.FollowCommands(); n != 4 {
		t.Errorf("%d follow commands in all, want 4 (one per flush)", n)
	}
}
