package ledger

import (
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

func hashSlices(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// TestProofsExhaustive grows a log to 300 entries in uneven batches (crossing
// the tile boundaries at 255/256/257), checks every tree hash against an
// independent x/mod in-memory tree, and verifies every inclusion and
// consistency proof for every size 1..300 with both x/mod tlog and
// transparency-dev proof; flipping a bit in any proof hash must break both.
func TestProofsExhaustive(t *testing.T) {
	const N = 300
	s := openTest(t)
	var mem memTree
	for size, batch := uint64(0), uint64(1); size < N; batch = batch%7 + 1 {
		end := min(size+batch, N)
		appendN(t, s, testOrigin, size, end)
		for i := size; i < end; i++ {
			mem.add(t, testEntry(i))
		}
		size = end
		got, err := s.Log(testOrigin).TreeHash(size)
		if err != nil {
			t.Fatal(err)
		}
		if want := mem.root(t, int64(size)); got != want {
			t.Fatalf("TreeHash(%d) = %v, independent x/mod tree says %v", size, got, want)
		}
	}
	fullFlip := map[uint64]bool{1: true, 2: true, 255: true, 256: true, 257: true}
	h := rfc6962.DefaultHasher
	roots := make([]tlog.Hash, N+1)
	for n := range roots {
		roots[n] = mem.root(t, int64(n))
	}
	err := s.View(func(tx *ReadTx) error {
		r := tx.Log(testOrigin)
		for n := uint64(1); n <= N; n++ {
			root := roots[n]
			if tr, _ := r.TreeHash(n); tr != root {
				t.Fatalf("TreeHash(%d) mismatch", n)
			}
			for i := uint64(0); i < n; i++ {
				leaf := tlog.RecordHash(testEntry(i))
				p, err := r.InclusionProof(i, n)
				if err != nil {
					t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
				}
				if err := tlog.CheckRecord(p, int64(n), root, int64(i), leaf); err != nil {
					t.Fatalf("CheckRecord(%d, %d): %v", i, n, err)
				}
				if err := proof.VerifyInclusion(h, i, n, leaf[:], hashSlices(p), root[:]); err != nil {
					t.Fatalf("VerifyInclusion(%d, %d): %v", i, n, err)
				}
				forEachFlip(p, fullFlip[n] && (i == 0 || i == n/2 || i+1 == n), int(i+n), func() {
					if tlog.CheckRecord(p, int64(n), root, int64(i), leaf) == nil {
						t.Fatalf("CheckRecord(%d, %d) accepted a flipped proof", i, n)
					}
					if proof.VerifyInclusion(h, i, n, leaf[:], hashSlices(p), root[:]) == nil {
						t.Fatalf("VerifyInclusion(%d, %d) accepted a flipped proof", i, n)
					}
				})
			}
			for m := uint64(1); m <= n; m++ {
				old := roots[m]
				p, err := r.ConsistencyProof(m, n)
				if err != nil {
					t.Fatalf("ConsistencyProof(%d, %d): %v", m, n, err)
				}
				if err := tlog.CheckTree(p, int64(n), root, int64(m), old); err != nil {
					t.Fatalf("CheckTree(%d, %d): %v", m, n, err)
				}
				if err := proof.VerifyConsistency(h, m, n, hashSlices(p), old[:], root[:]); err != nil {
					t.Fatalf("VerifyConsistency(%d, %d): %v", m, n, err)
				}
				forEachFlip(p, fullFlip[n] && (m == 1 || m == n/2 || m+1 == n), int(m+n), func() {
					if tlog.CheckTree(p, int64(n), root, int64(m), old) == nil {
						t.Fatalf("CheckTree(%d, %d) accepted a flipped proof", m, n)
					}
					if proof.VerifyConsistency(h, m, n, hashSlices(p), old[:], root[:]) == nil {
						t.Fatalf("VerifyConsistency(%d, %d) accepted a flipped proof", m, n)
					}
				})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// forEachFlip flips bits of every hash in p in place, calling fn with each
// flip applied and restoring it after: all 256 bits if all, else one bit per
// hash chosen from seed (every bit position is still covered across proofs).
func forEachFlip(p []tlog.Hash, all bool, seed int, fn func()) {
	for k := range p {
		for bit := 0; bit < 256; bit++ {
			if !all && bit != (seed+k*37)%256 {
				continue
			}
			p[k][bit/8] ^= 1 << (bit % 8)
			fn()
			p[k][bit/8] ^= 1 << (bit % 8)
		}
	}
}

func TestProofArgs(t *testing.T) {
	s := openTest(t)
	appendN(t, s, testOrigin, 0, 10)
	l := s.Log(testOrigin)
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"inclusion index == size", func() error { _, err := l.InclusionProof(5, 5); return err }},
		{"inclusion size > log", func() error { _, err := l.InclusionProof(1, 11); return err }},
		{"consistency old 0", func() error { _, err := l.ConsistencyProof(0, 5); return err }},
		{"consistency old > new", func() error { _, err := l.ConsistencyProof(6, 5); return err }},
		{"consistency new > log", func() error { _, err := l.ConsistencyProof(5, 11); return err }},
		{"tree hash beyond", func() error { _, err := l.TreeHash(11); return err }},
	} {
		if tc.fn() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestInclusionProofsMatchSingle(t *testing.T) {
	s := openTest(t)
	appendN(t, s, "o", 0, 600)
	s.View(func(tx *ReadTx) error {
		lr := tx.Log("o")
		idx := []uint64{0, 1, 255, 256, 257, 500, 599}
		ps, err := lr.InclusionProofs(idx, 600)
		if err != nil {
			t.Fatal(err)
		}
		for k, i := range idx {
			p, _ := lr.InclusionProof(i, 600)
			if len(p) != len(ps[k]) {
				t.Fatalf("proof %d: length %d vs %d", i, len(ps[k]), len(p))
			}
			for j := range p {
				if p[j] != ps[k][j] {
					t.Fatalf("proof %d differs at %d", i, j)
				}
			}
		}
		if _, err := lr.InclusionProofs([]uint64{600}, 600); err == nil {
			t.Error("proof for index == size accepted")
		}
		return nil
	})
}

// TestHashCacheAcrossGrowth: proofs read through the store's hash cache stay
// right as the tree grows (cached hashes are of complete subtrees only).
func TestHashCacheAcrossGrowth(t *testing.T) {
	s := openTest(t)
	var mt memTree
	for step, n := range []uint64{300, 513, 1000} {
		from := uint64(0)
		if step > 0 {
			from = []uint64{300, 513, 1000}[step-1]
		}
		appendN(t, s, "o", from, n)
		for i := from; i < n; i++ {
			mt.add(t, testEntry(i))
		}
		root := mt.root(t, int64(n))
		s.View(func(tx *ReadTx) error {
			lr := tx.Log("o")
			for _, i := range []uint64{0, 1, 255, 256, 299, n / 2, n - 1} {
				p, err := lr.InclusionProof(i, n)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, int64(n), root, int64(i), tlog.RecordHash(testEntry(i))); err != nil {
					t.Fatalf("size %d, index %d: %v", n, i, err)
				}
			}
			return nil
		})
	}
}
