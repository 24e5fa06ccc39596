package ledger

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// A range proof shows that the contiguous leaves [lo, hi) are in the tree
// of size n with a given root, to a verifier that holds the leaf hashes of
// the range (the records of one submission). It is one proof for a whole
// batch instead of one inclusion proof per record, and from it and the
// leaves every record's ordinary inclusion proof (tlog.RecordProof, the
// RFC 6962 audit path) can be rebuilt: RangeInclusionProofs. Pure: no I/O
// besides the tlog.HashReader.
//
// Definition. Follow the RFC 6962 definition of MTH over D[0:n]: a subtree
// D[s:s+m] with m > 1 splits at k, the largest power of two below m, into
// D[s:s+k] and D[s+k:s+m]. Walk that recursion from the root, left subtree
// before right, and stop at every subtree that has no leaf in [lo, hi): the
// proof is the MTH of each such subtree, in the order the walk meets them.
// Subtrees that overlap the range are split further; a single leaf in the
// range is taken from the verifier's leaf hashes. The proof holds at most
// 2*ceil(log2 n) hashes; a range of the whole tree has an empty proof.
//
// Wire form (node.BatchReceipt): the hashes in that order, each as standard
// base64 of its 32 bytes. A change to the walk order is a new format.

// ErrRangeProof is a range proof that does not prove the range: wrong
// length, or a root that differs from the one claimed.
var ErrRangeProof = errors.New("ledger: range proof does not verify")

// ProveRange returns the range proof of leaves [lo, hi) in the tree of size
// n whose stored hashes r reads.
func ProveRange(n, lo, hi uint64, r tlog.HashReader) ([]tlog.Hash, error) {
	if lo >= hi || hi > n {
		return nil, fmt.Errorf("ledger: range proof of [%d, %d) in a tree of size %d", lo, hi, n)
	}
	var out []tlog.Hash
	var walk func(s, m uint64) error
	walk = func(s, m uint64) error {
		if s+m <= lo || s >= hi {
			h, err := subtreeHash(s, m, r)
			if err != nil {
				return err
			}
			out = append(out, h)
			return nil
		}
		if m == 1 {
			return nil
		}
		k := split(m)
		if err := walk(s, k); err != nil {
			return err
		}
		return walk(s+k, m-k)
	}
	return out, walk(0, n)
}

// split is the largest power of two below m (m > 1).
func split(m uint64) uint64 { return 1 << (bits.Len64(m-1) - 1) }

// subtreeHash is the MTH of D[s:s+m], a subtree of the RFC 6962 recursion:
// a stored hash when the subtree is complete, else combined from the
// complete subtrees it splits into.
func subtreeHash(s, m uint64, r tlog.HashReader) (tlog.Hash, error) {
	if m&(m-1) == 0 { // a power of two, and s a multiple of m in the recursion
		level := bits.TrailingZeros64(m)
		hs, err := r.ReadHashes([]int64{tlog.StoredHashIndex(level, int64(s>>level))})
		if err != nil {
			return tlog.Hash{}, err
		}
		if len(hs) != 1 {
			return tlog.Hash{}, fmt.Errorf("ledger: hash reader returned %d hashes for 1", len(hs))
		}
		return hs[0], nil
	}
	k := split(m)
	left, err := subtreeHash(s, k, r)
	if err != nil {
		return tlog.Hash{}, err
	}
	right, err := subtreeHash(s+k, m-k, r)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.NodeHash(left, right), nil
}

// CheckRange verifies that leaves (the leaf hashes of [lo, lo+len(leaves)))
// are in the tree of size n with the given root, by proof (ProveRange). It
// returns nil or an error wrapping ErrRangeProof.
func CheckRange(n uint64, root tlog.Hash, lo uint64, leaves []tlog.Hash, proof []tlog.Hash) error {
	_, err := RangeInclusionProofs(n, root, lo, leaves, proof)
	return err
}

// RangeInclusionProofs verifies a range proof like CheckRange and returns,
// for each leaf of the range, its ordinary inclusion proof at size n (what
// tlog.ProveRecord would return), so that each record's receipt can be
// checked on its own with tlog.CheckRecord.
func RangeInclusionProofs(n uint64, root tlog.Hash, lo uint64, leaves []tlog.Hash, proof []tlog.Hash) ([]tlog.RecordProof, error) {
	hi := lo + uint64(len(leaves))
	if len(leaves) == 0 || hi > n || hi < lo {
		return nil, fmt.Errorf("%w: range [%d, %d) in a tree of size %d", ErrRangeProof, lo, hi, n)
	}
	paths := make([]tlog.RecordProof, len(leaves))
	next := 0
	var walk func(s, m uint64) (tlog.Hash, error)
	walk = func(s, m uint64) (tlog.Hash, error) {
		if s+m <= lo || s >= hi {
			if next >= len(proof) {
				return tlog.Hash{}, fmt.Errorf("%w: too few hashes (%d)", ErrRangeProof, len(proof))
			}
			next++
			return proof[next-1], nil
		}
		if m == 1 {
			return leaves[s-lo], nil
		}
		k := split(m)
		left, err := walk(s, k)
		if err != nil {
			return tlog.Hash{}, err
		}
		right, err := walk(s+k, m-k)
		if err != nil {
			return tlog.Hash{}, err
		}
		// Each leaf of the range below this node gets the other child as
		// the next (higher) hash of its path: children were walked first,
		// so paths grow leaf sibling first, as tlog.RecordProof is ordered.
		for i := max(s, lo); i < min(s+m, hi); i++ {
			if i < s+k {
				paths[i-lo] = append(paths[i-lo], right)
			} else {
				paths[i-lo] = append(paths[i-lo], left)
			}
		}
		return tlog.NodeHash(left, right), nil
	}
	got, err := walk(0, n)
	if err != nil {
		return nil, err
	}
	if next != len(proof) {
		return nil, fmt.Errorf("%w: %d hashes, %d used", ErrRangeProof, len(proof), next)
	}
	if got != root {
		return nil, fmt.Errorf("%w: computed root %x, want %x", ErrRangeProof, got[:8], root[:8])
	}
	return paths, nil
}

// RangeProof is ProveRange over this log's stored hashes: the range proof
// of entries [lo, hi) at tree size size.
func (r *LogReader) RangeProof(lo, hi, size uint64) ([]tlog.Hash, error) {
	if size > r.Size() {
		return nil, r.notFound("range proof at size %d beyond log size %d", size, r.Size())
	}
	return ProveRange(size, lo, hi, &memoHashes{r: r.hashReader(), m: map[int64]tlog.Hash{}})
}
