package ledger

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// rpTree is an in-memory tlog tree for proof tests.
type rpTree struct{ hashes []tlog.Hash }

func (t *rpTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

func newMemTree(n int) (*rpTree, []tlog.Hash) {
	t := &rpTree{}
	var leaves []tlog.Hash
	for i := range n {
		e := fmt.Appendf(nil, "entry %d", i)
		leaves = append(leaves, tlog.RecordHash(e))
		hs, err := tlog.StoredHashes(int64(i), e, t)
		if err != nil {
			panic(err)
		}
		t.hashes = append(t.hashes, hs...)
	}
	return t, leaves
}

// TestRangeProofExhaustive checks every range of every tree up to 33
// leaves: the proof verifies, stays within 2*ceil(log2 n) hashes, rebuilds
// exactly the inclusion proofs tlog.ProveRecord gives, and fails with a bit
// flipped in any proof hash, any leaf, or the root, and with a hash
// missing or added.
func TestRangeProofExhaustive(t *testing.T) {
	for n := uint64(1); n <= 33; n++ {
		tree, leaves := newMemTree(int(n))
		root, err := tlog.TreeHash(int64(n), tree)
		if err != nil {
			t.Fatal(err)
		}
		for lo := uint64(0); lo < n; lo++ {
			for hi := lo + 1; hi <= n; hi++ {
				p, err := ProveRange(n, lo, hi, tree)
				if err != nil {
					t.Fatalf("n=%d [%d,%d): %v", n, lo, hi, err)
				}
				if bound := 2 * ceilLog2(n); len(p) > bound {
					t.Errorf("n=%d [%d,%d): %d hashes > %d", n, lo, hi, len(p), bound)
				}
				lv := leaves[lo:hi]
				paths, err := RangeInclusionProofs(n, root, lo, lv, p)
				if err != nil {
					t.Fatalf("n=%d [%d,%d): %v", n, lo, hi, err)
				}
				for i := lo; i < hi; i++ {
					want, _ := tlog.ProveRecord(int64(n), int64(i), tree)
					if fmt.Sprint(paths[i-lo]) != fmt.Sprint(want) {
						t.Fatalf("n=%d [%d,%d) leaf %d: rebuilt path differs from tlog.ProveRecord", n, lo, hi, i)
					}
					if err := tlog.CheckRecord(paths[i-lo], int64(n), root, int64(i), leaves[i]); err != nil {
						t.Fatalf("n=%d leaf %d: %v", n, i, err)
					}
				}
				bad := func(what string, n uint64, root tlog.Hash, lo uint64, lv, p []tlog.Hash) {
					if err := CheckRange(n, root, lo, lv, p); !errors.Is(err, ErrRangeProof) {
						t.Fatalf("n=%d [%d,%d) %s: %v, want ErrRangeProof", n, lo, hi, what, err)
					}
				}
				for j := range p {
					q := append([]tlog.Hash(nil), p...)
					q[j][j%32] ^= 1 << (j % 8)
					bad("proof hash flipped", n, root, lo, lv, q)
				}
				for j := range lv {
					l := append([]tlog.Hash(nil), lv...)
					l[j][5] ^= 0x40
					bad("leaf flipped", n, root, lo, l, p)
				}
				r := root
				r[31] ^= 1
				bad("root flipped", n, r, lo, lv, p)
				bad("hash added", n, root, lo, lv, append(append([]tlog.Hash(nil), p...), root))
				if len(p) > 0 {
					bad("hash missing", n, root, lo, lv, p[:len(p)-1])
				}
				if lo > 0 {
					bad("range shifted", n, root, lo-1, lv, p)
				}
			}
		}
	}
}

func ceilLog2(n uint64) int {
	k := 0
	for (uint64(1) << k) < n {
		k++
	}
	return k
}

// FuzzRangeInclusionProofs: a range proof from an untrusted peer never
// panics the verifier, and whatever it accepts rebuilds paths that
// tlog.CheckRecord accepts too.
func FuzzRangeInclusionProofs(f *testing.F) {
	f.Add(uint64(7), uint64(2), uint8(3), []byte("0123456789abcdef0123456789abcdef"), uint8(5))
	f.Add(uint64(1<<62), uint64(1<<61), uint8(1), []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, n, lo uint64, count uint8, seed []byte, nproof uint8) {
		h := func(i int) (x tlog.Hash) {
			copy(x[:], seed)
			x[0] ^= byte(i)
			x[1] ^= byte(i >> 8)
			return x
		}
		leaves := make([]tlog.Hash, count)
		for i := range leaves {
			leaves[i] = h(i)
		}
		proof := make([]tlog.Hash, nproof%130)
		for i := range proof {
			proof[i] = h(1000 + i)
		}
		root := h(7777)
		paths, err := RangeInclusionProofs(n, root, lo, leaves, proof)
		if err != nil {
			return
		}
		for i, p := range paths {
			if err := tlog.CheckRecord(p, int64(n), root, int64(lo)+int64(i), leaves[i]); err != nil {
				t.Fatalf("accepted range but leaf %d does not check: %v", i, err)
			}
		}
	})
}
