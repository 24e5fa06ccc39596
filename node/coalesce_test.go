package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
)

// fakeRaft is a proposeFunc that holds every proposal until released and
// answers an op 1 command as the FSM would for a log of distinct entries:
// consecutive indices, all fresh.
type fakeRaft struct {
	mu       sync.Mutex
	proposed []command
	next     uint64
	started  chan struct{} // one send per proposal, before it waits
	release  chan struct{} // one receive per proposal
	refuse   func(c command) error
	fail     error
}

func newFakeRaft() *fakeRaft {
	return &fakeRaft{started: make(chan struct{}, 64), release: make(chan struct{}, 64)}
}

func (f *fakeRaft) propose(ctx context.Context, c command, cmd []byte) (*applyResult, error) {
	if cmd != nil {
		d, err := decodeCommand(cmd)
		if err != nil || len(d.entries) != len(c.entries) {
			return nil, fmt.Errorf("cmd does not encode c: %v", err)
		}
	}
	f.started <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proposed = append(f.proposed, c)
	if f.fail != nil && len(c.entries) > 1 {
		return nil, f.fail
	}
	if f.refuse != nil {
		if err := f.refuse(c); err != nil {
			return &applyResult{Err: err}, nil
		}
	}
	r := &applyResult{Origin: c.origin, signs: true}
	for range c.entries {
		r.Indices = append(r.Indices, f.next)
		r.Fresh = append(r.Fresh, true)
		f.next++
	}
	r.Size, r.Checkpoint = f.next, []byte(fmt.Sprintf("cp %d", f.next))
	return r, nil
}

func appendCmd(entries ...string) command {
	c := command{op: opAppend, origin: "creditx.330000/ledger"}
	for _, e := range entries {
		c.entries = append(c.entries, []byte(e))
	}
	return c
}

type coalesceOut struct {
	res *applyResult
	err error
}

// TestCoalescerMergesWaitingAppends: while the first command is in flight
// the next ones wait and are proposed as one command, each caller getting
// the indices of its own entries, in its own order, and the checkpoint
// covering them.
func TestCoalescerMergesWaitingAppends(t *testing.T) {
	var co coalescer
	fr := newFakeRaft()
	ctx := context.Background()
	outs := make([]chan coalesceOut, 5)
	call := func(i int, c command) {
		outs[i] = make(chan coalesceOut, 1)
		go func() {
			res, err := co.apply(ctx, c, nil, fr.propose)
			outs[i] <- coalesceOut{res, err}
		}()
	}
	call(0, appendCmd("a0", "a1"))
	<-fr.started // a is in flight
	call(1, appendCmd("b0"))
	<-fr.started // b is in flight too (two at once)
	call(2, appendCmd("c0", "c1", "c2"))
	waitPending(t, &co, 1)
	call(3, appendCmd("d0"))
	waitPending(t, &co, 2)
	call(4, appendCmd("e0", "e1"))
	waitPending(t, &co, 3)
	fr.release <- struct{}{} // a commits; its proposer passes the turn to c, which takes c, d, e
	<-fr.started
	fr.release <- struct{}{}
	fr.release <- struct{}{}
	got := make([]coalesceOut, 5)
	for i, ch := range outs {
		got[i] = <-ch
		if got[i].err != nil || got[i].res == nil || got[i].res.Err != nil {
			t.Fatalf("caller %d: %+v", i, got[i])
		}
	}
	if len(fr.proposed) != 3 {
		t.Fatalf("%d proposals, want 3 (a, b, then c+d+e merged)", len(fr.proposed))
	}
	var merged []string
	for _, c := range fr.proposed {
		if len(c.entries) == 6 {
			for _, e := range c.entries {
				merged = append(merged, string(e))
			}
		}
	}
	if want := []string{"c0", "c1", "c2", "d0", "e0", "e1"}; !slices.Equal(merged, want) {
		t.Fatalf("merged command %q, want %q", merged, want)
	}
	m := got[2].res
	first := m.Indices[0]
	want := map[int][]uint64{2: {first, first + 1, first + 2}, 3: {first + 3}, 4: {first + 4, first + 5}}
	for i, idx := range want {
		r := got[i].res
		if !slices.Equal(r.Indices, idx) || len(r.Fresh) != len(idx) || !r.signs || r.Size != m.Size || r.Size < first+6 || !bytes.Equal(r.Checkpoint, m.Checkpoint) {
			t.Errorf("caller %d: indices %v fresh %v size %d cp %q, want indices %v size %d", i, r.Indices, r.Fresh, r.Size, r.Checkpoint, idx, m.Size)
		}
	}
}

// waitPending waits until n commands wait in co.
func waitPending(t *testing.T, co *coalescer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		co.mu.Lock()
		k := len(co.pending)
		co.mu.Unlock()
		if k == n {
			return
		}
	}
	t.Fatalf("never %d commands pending", n)
}

// TestCoalescerRefusedMergeProposesAlone: a merged command the FSM refuses
// appended nothing, so each caller proposes its own command alone and gets
// its own answer (here only c is refused).
func TestCoalescerRefusedMergeProposesAlone(t *testing.T) {
	var co coalescer
	fr := newFakeRaft()
	errBadKey := errors.New("key revoked")
	fr.refuse = func(c command) error {
		for _, e := range c.entries {
			if string(e) == "c0" {
				return errBadKey
			}
		}
		return nil
	}
	for range 8 {
		fr.release <- struct{}{}
	}
	ctx := context.Background()
	type out struct {
		name string
		coalesceOut
	}
	ch := make(chan out, 4)
	hold := make(chan struct{})
	for i, n := range []string{"a", "b"} { // a and b hold both turns until c and d wait
		go func() {
			res, err := co.apply(ctx, appendCmd(n+"0"), nil, func(ctx context.Context, c command, cmd []byte) (*applyResult, error) {
				<-hold
				return fr.propose(ctx, c, cmd)
			})
			ch <- out{n, coalesceOut{res, err}}
		}()
		waitPending(t, &co, 0)
		waitInflight(t, &co, i+1)
	}
	for _, n := range []string{"c", "d"} {
		go func() {
			res, err := co.apply(ctx, appendCmd(n+"0"), nil, fr.propose)
			ch <- out{n, coalesceOut{res, err}}
		}()
	}
	waitPending(t, &co, 2)
	close(hold)
	got := map[string]coalesceOut{}
	for range 4 {
		o := <-ch
		got[o.name] = o.coalesceOut
	}
	if r := got["c"].res; got["c"].err != nil || r == nil || !errors.Is(r.Err, errBadKey) {
		t.Errorf("c: %+v, want its own refusal", got["c"])
	}
	if r := got["d"].res; got["d"].err != nil || r == nil || r.Err != nil || len(r.Indices) != 1 {
		t.Errorf("d: %+v, want appended alone", got["d"])
	}
	var merged bool
	for _, c := range fr.proposed {
		merged = merged || len(c.entries) == 2
	}
	if !merged {
		t.Errorf("c and d were never proposed merged: %d proposals", len(fr.proposed))
	}
}

// waitInflight waits until n proposals are in flight in co.
func waitInflight(t *testing.T, co *coalescer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		co.mu.Lock()
		k := co.inflight
		co.mu.Unlock()
		if k == n {
			return
		}
	}
	t.Fatalf("never %d proposals in flight", n)
}

// TestCoalescerFailureIsEveryCallers: a merged proposal that fails (here:
// not leader) fails for every caller in it, who then retries as before;
// a caller whose context ends while it waits is never proposed.
func TestCoalescerFailureIsEveryCallers(t *testing.T) {
	var co coalescer
	fr := newFakeRaft()
	fr.fail = raft.ErrNotLeader
	ctx := context.Background()
	res := make(chan coalesceOut, 8)
	go func() { r, err := co.apply(ctx, appendCmd("a0"), nil, fr.propose); res <- coalesceOut{r, err} }()
	<-fr.started
	go func() { r, err := co.apply(ctx, appendCmd("b0"), nil, fr.propose); res <- coalesceOut{r, err} }()
	<-fr.started
	cctx, cancel := context.WithCancel(ctx)
	go func() { r, err := co.apply(cctx, appendCmd("x0"), nil, fr.propose); res <- coalesceOut{r, err} }()
	waitPending(t, &co, 1)
	cancel()
	if o := <-res; !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled caller: %+v", o)
	}
	for _, n := range []string{"c0", "d0"} {
		go func() { r, err := co.apply(ctx, appendCmd(n), nil, fr.propose); res <- coalesceOut{r, err} }()
	}
	waitPending(t, &co, 2)
	for range 3 {
		fr.release <- struct{}{}
	}
	var failed, ok int
	for range 4 {
		o := <-res
		switch {
		case errors.Is(o.err, raft.ErrNotLeader):
			failed++
		case o.err == nil && o.res != nil && o.res.Err == nil:
			ok++
		default:
			t.Fatalf("unexpected answer %+v", o)
		}
	}
	if failed != 2 || ok != 2 {
		t.Errorf("%d failed, %d applied; want c and d failed together, a and b applied", failed, ok)
	}
	for _, c := range fr.proposed {
		for _, e := range c.entries {
			if string(e) == "x0" {
				t.Errorf("the cancelled caller's command was proposed")
			}
		}
	}
}

// TestFSMMergedAppendSameState: the FSM applying commands merged into one
// (what the coalescer proposes) leaves ledger.db byte for byte as applying
// them one after the other in the same batch, and answers each part as it
// answered the command alone, a duplicate across parts included.
func TestFSMMergedAppendSameState(t *testing.T) {
	const origin = "creditx.330000/ledger"
	skey, vkey, err := ledger.GenerateKey(origin, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	open := func(path string) *fsm {
		f, err := newFSM(path, ledger.Options{NoSync: true}, fsmConfig{logs: map[string]signingLog{origin: {signer: s, verifier: v}}, logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	dir := t.TempDir()
	alone, merged := open(filepath.Join(dir, "alone.db")), open(filepath.Join(dir, "merged.db"))
	at := time.Unix(1_800_000_000, 0)
	parts := [][]string{{"p0", "p1", "p2"}, {"q0", "p1", "q1"}, {"r0"}}
	// First batch: the same prefix on both.
	alone.ApplyBatch([]*raft.Log{appendLog(t, 1, at, "x0", "x1")})
	merged.ApplyBatch([]*raft.Log{appendLog(t, 1, at, "x0", "x1")})
	var logs []*raft.Log
	var all []string
	for i, p := range parts {
		logs = append(logs, appendLog(t, uint64(2+i), at, p...))
		all = append(all, p...)
	}
	aloneOut := alone.ApplyBatch(logs)
	mergedLog := appendLog(t, 2+uint64(len(parts))-1, at, all...)
	noops := []*raft.Log{}
	for i := range len(parts) - 1 {
		noops = append(noops, &raft.Log{Index: uint64(2 + i), Type: raft.LogNoop, AppendedAt: at})
	}
	mergedOut := merged.ApplyBatch(append(noops, mergedLog))
	m := mergedOut[len(mergedOut)-1].(*applyResult)
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	var b []*coalesced
	for _, p := range parts {
		b = append(b, &coalesced{entries: make([][]byte, len(p))})
	}
	split(b, m, nil)
	for i := range parts {
		a := aloneOut[i].(*applyResult)
		got := b[i].res
		if a.Err != nil || got == nil || !slices.Equal(a.Indices, got.Indices) || !slices.Equal(a.Fresh, got.Fresh) ||
			a.Size != got.Size || !bytes.Equal(a.Checkpoint, got.Checkpoint) || a.Origin != got.Origin {
			t.Errorf("part %d: merged answer %+v, alone %+v", i, got, a)
		}
	}
	if b[1].res.Fresh[1] {
		t.Errorf("the duplicate p1 in the second part is fresh")
	}
	if err := alone.close(); err != nil {
		t.Fatal(err)
	}
	if err := merged.close(); err != nil {
		t.Fatal(err)
	}
	da, dm := dumpBolt(t, filepath.Join(dir, "alone.db")), dumpBolt(t, filepath.Join(dir, "merged.db"))
	if len(da) == 0 || !slices.Equal(da, dm) {
		t.Fatalf("ledger.db differs: %d keys alone, %d merged", len(da), len(dm))
	}
}

// dumpBolt lists every bucket path, key and value of the bbolt file at path.
func dumpBolt(t *testing.T, path string) []string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	var walk func(prefix string, b *bbolt.Bucket) error
	walk = func(prefix string, b *bbolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if c := b.Bucket(k); c != nil {
					out = append(out, fmt.Sprintf("%s/%x/", prefix, k))
					return walk(fmt.Sprintf("%s/%x", prefix, k), c)
				}
			}
			out = append(out, fmt.Sprintf("%s/%x=%x", prefix, k, v))
			return nil
		})
	}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			out = append(out, fmt.Sprintf("%x/", name))
			return walk(fmt.Sprintf("%x", name), b)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCoalescable: only appends to the region's own ledger without a
// governance record are merged.
func TestCoalescable(t *testing.T) {
	n := &Node{origin: "creditx.330000/ledger", access: "creditx.330000/access"}
	listing := []byte(`{"key":"00","record":{"schema":"listing/v1"},"sig":"AA"}`)
	gov := []byte(`{"key":"00","record":{"action":"revoke","schema":"governance/v1"},"sig":"AA"}`)
	for _, tt := range []struct {
		name string
		c    command
		want bool
	}{
		{"own ledger", command{op: opAppend, origin: n.origin, entries: [][]byte{listing, listing}}, true},
		{"a governance record", command{op: opAppend, origin: n.origin, entries: [][]byte{listing, gov}}, false},
		{"access log", command{op: opAppend, origin: n.access, entries: [][]byte{listing}}, false},
		{"another log", command{op: opAppend, origin: "creditx.330000/notices", entries: [][]byte{listing}}, false},
		{"not an append", command{op: opVaultPut, origin: n.origin}, false},
	} {
		if got := n.coalescable(tt.c); got != tt.want {
			t.Errorf("%s: coalescable %v, want %v", tt.name, got, tt.want)
		}
	}
}
