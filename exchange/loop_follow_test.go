package exchange

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestApplyFollow: op 10 stores a loop checkpoint signed by the member's
// loop key only if it starts from the followed size and is the same tree
// or proven consistent; every refusal names why and changes nothing.
func TestApplyFollow(t *testing.T) {
	h := newFakeHost(t)
	loop := "creditx.310000/loop"
	skey, vkey, err := note.GenerateKey(rand.Reader, loop)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	h.peers[loop] = v
	h.peers["creditx.310000/ledger"] = v // a ledger origin is refused whatever its key

	// A real tree of 12 leaves: checkpoints at 5 and 12 and the proof between.
	var leaves [][]byte
	for i := range 12 {
		leaves = append(leaves, []byte{byte(i), 'e'})
	}
	tree := func(n int) (tlog.Hash, tlog.HashReader) {
		var hs []tlog.Hash
		for i := 0; i < n; i++ {
			rs, _ := tlog.StoredHashes(int64(i), leaves[i], tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for j, x := range idx {
					out[j] = hs[x]
				}
				return out, nil
			}))
			hs = append(hs, rs...)
		}
		hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = hs[x]
			}
			return out, nil
		})
		root, err := tlog.TreeHash(int64(n), hr)
		if err != nil {
			t.Fatal(err)
		}
		return root, hr
	}
	r5, _ := tree(5)
	r12, hr12 := tree(12)
	proof, err := tlog.ProveTree(12, 5, hr12)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(origin string, n uint64, root tlog.Hash) []byte {
		b, err := ledger.SignCheckpoint(signer, loop, n, root)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	follow := func(c Command) Result {
		t.Helper()
		c.Op = OpFollow
		res, err := h.Propose(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	held := func() Followed {
		t.Helper()
		var f Followed
		h.View(func(tx *ledger.ReadTx) (err error) { f, err = ReadFollowed(tx, loop); return err })
		return f
	}
	cp5, cp12 := sign(loop, 5, r5), sign(loop, 12, r12)
	if res := follow(Command{Origin: "creditx.310000/ledger", Checkpoint: cp5}); !errors.Is(res.Err(), ErrNotLoopLog) {
		t.Fatalf("ledger origin: %v, want ErrNotLoopLog", res.Err())
	}
	if res := follow(Command{Origin: "creditx.320000/loop", Checkpoint: cp5}); !errors.Is(res.Err(), ErrNotLoopLog) {
		t.Fatalf("unknown loop origin: %v, want ErrNotLoopLog", res.Err())
	}
	if res := follow(Command{Origin: loop, Checkpoint: cp5}); res.Err() != nil || res.Size != 5 {
		t.Fatalf("first: %+v", res)
	}
	if f := held(); f.Size != 5 || f.Root != r5 || string(f.Note) != string(cp5) {
		t.Fatalf("followed %+v", f)
	}
	refusals := map[string]struct {
		c    Command
		want error
	}{
		"old size not the followed": {Command{Origin: loop, OldSize: 4, Proof: proof, Checkpoint: cp12}, ErrFollowStale},
		"smaller":                   {Command{Origin: loop, OldSize: 5, Checkpoint: sign(loop, 3, r5)}, ErrFollowStale},
		"same size, other root":     {Command{Origin: loop, OldSize: 5, Checkpoint: sign(loop, 5, tlog.Hash{1})}, ErrInconsistent},
		"bad proof":                 {Command{Origin: loop, OldSize: 5, Proof: tlog.TreeProof{{7}}, Checkpoint: cp12}, ErrInconsistent},
		"larger, other tree":        {Command{Origin: loop, OldSize: 5, Proof: proof, Checkpoint: sign(loop, 12, tlog.Hash{2})}, ErrInconsistent},
	}
	for name, tc := range refusals {
		if res := follow(tc.c); !errors.Is(res.Err(), tc.want) {
			t.Errorf("%s: %v, want %v", name, res.Err(), tc.want)
		}
		if f := held(); f.Size != 5 || string(f.Note) != string(cp5) {
			t.Fatalf("%s changed the followed checkpoint: %+v", name, f)
		}
	}
	// Another key's signature.
	okey, _, _ := note.GenerateKey(rand.Reader, loop)
	os, _ := note.NewSigner(okey)
	forged, _ := ledger.SignCheckpoint(os, loop, 12, r12)
	if res := follow(Command{Origin: loop, OldSize: 5, Proof: proof, Checkpoint: forged}); res.Err() == nil {
		t.Fatal("a checkpoint signed by another key was followed")
	}
	if res := follow(Command{Origin: loop, OldSize: 5, Proof: proof, Checkpoint: cp12}); res.Err() != nil || res.Size != 12 {
		t.Fatalf("consistent: %+v", res)
	}
	if f := held(); f.Size != 12 || f.Root != r12 {
		t.Fatalf("followed %+v, want 12", f)
	}
}

// TestFollowPace: a member follows a loop log it holds a copy of (a
// custodian) at followGap, every other loop log at followGapFar (issue 20:
// N(N-1) pairs follow; only the custodians need every checkpoint at once).
func TestFollowPace(t *testing.T) {
	codes := []string{"310000", "320000", "330000", "340000"}
	near, far := 0, 0
	for _, self := range codes {
		x, err := NewOffline(parsed(t, testManifest(t, codes...)), self, newFakeHost(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range codes {
			mb, ok := x.m().Member(o)
			if o == self || !ok || mb.LoopVerifier() == nil {
				continue
			}
			want := followGapFar
			if slices.Contains(Custodians(o, codes), self) {
				want, near = followGap, near+1
			} else {
				far++
			}
			if got := x.followPace(mb); got != want {
				t.Errorf("%s following %s's loop log: pace %v, want %v", self, o, got, want)
			}
		}
	}
	if near == 0 || far == 0 {
		t.Fatalf("%d custodian and %d other pairs: the test needs both", near, far)
	}
	if followGapFar < 5*followGap {
		t.Errorf("followGapFar %v: not coarser than followGap %v", followGapFar, followGap)
	}
}
