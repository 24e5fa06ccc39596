// Package anchortest provides a fixture for tests of code that anchors or
// checks anchors: an in-memory RFC 6962 tree of synthetic leaves, with the
// anchors and consistency proofs it implies. Its methods panic on misuse
// (a size larger than the tree), which is a bug in the calling test.
package anchortest

import (
	"fmt"

	"github.com/creditx/creditx/anchor"
	"golang.org/x/mod/sumdb/tlog"
)

// Tree is the stored hashes (x/mod tlog's layout) of a tree whose leaf i is
// "<salt> <i>"; two salts give two different histories (a fork).
type Tree []tlog.Hash

// NewTree returns a tree of n leaves.
func NewTree(n int, salt string) Tree {
	var tr Tree
	for i := range n {
		hs, err := tlog.StoredHashes(int64(i), fmt.Appendf(nil, "%s %d", salt, i), tr)
		if err != nil {
			panic(err)
		}
		tr = append(tr, hs...)
	}
	return tr
}

// ReadHashes implements tlog.HashReader.
func (tr Tree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = tr[x]
	}
	return out, nil
}

// Root is the root hash of the first n leaves.
func (tr Tree) Root(n int64) tlog.Hash {
	h, err := tlog.TreeHash(n, tr)
	if err != nil {
		panic(err)
	}
	return h
}

// Anchor is member's anchor of the first n leaves (no cosignatures).
func (tr Tree) Anchor(member string, n int64) anchor.Anchor {
	return anchor.Anchor{Member: member, Size: uint64(n), Root: tr.Root(n)}
}

// Proof is the encoded consistency proof from old leaves to n.
func (tr Tree) Proof(n, old int64) []byte {
	p, err := tlog.ProveTree(n, old, tr)
	if err != nil {
		panic(err)
	}
	return anchor.EncodeProof(p)
}
