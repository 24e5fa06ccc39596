package exchange

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// Frontier is the compact Merkle range [0, size) of a log: the roots of its
// maximal perfect subtrees, at most 64 hashes. It is all a mirror needs to
// extend a verified tree by new leaves and compute the new root.
type Frontier struct {
	r *compact.Range
}

// NewFrontier returns the frontier of the empty tree.
func NewFrontier() *Frontier { return &Frontier{r: rangeFactory.NewEmptyRange(0)} }

// Size is the number of leaves covered.
func (f *Frontier) Size() uint64 { return f.r.End() }

// Clone returns an independent copy.
func (f *Frontier) Clone() *Frontier {
	c, _ := DecodeFrontier(f.Encode())
	return c
}

// AppendEntry adds one entry (its RFC 6962 leaf hash).
func (f *Frontier) AppendEntry(entry []byte) {
	f.AppendLeaf(tlog.RecordHash(entry))
}

// AppendLeaf adds one entry by its leaf hash (tlog.RecordHash of its bytes).
func (f *Frontier) AppendLeaf(h tlog.Hash) {
	f.r.Append(h[:], nil)
}

// Root is the RFC 6962 root hash of the covered tree.
func (f *Frontier) Root() tlog.Hash {
	if f.r.End() == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := f.r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("exchange: compact range root: %v", err)) // cannot happen for a range from 0
	}
	return tlog.Hash(h)
}

// Encode returns the frontier's byte form:
//
//	byte     version (1)
//	uvarint  size
//	n x 32   hashes of the perfect subtrees, largest first (n = popcount(size))
//
// Versioning rule: a different layout bumps the version byte; DecodeFrontier
// refuses versions it does not know.
func (f *Frontier) Encode() []byte {
	b := []byte{1}
	b = binary.AppendUvarint(b, f.r.End())
	for _, h := range f.r.Hashes() {
		b = append(b, h...)
	}
	return b
}

// DecodeFrontier is the strict inverse of Encode.
func DecodeFrontier(b []byte) (*Frontier, error) {
	if len(b) < 2 || b[0] != 1 {
		return nil, fmt.Errorf("frontier: unknown version or too short")
	}
	size, k := binary.Uvarint(b[1:])
	if k <= 0 || k != len(binary.AppendUvarint(nil, size)) {
		return nil, fmt.Errorf("frontier: bad size")
	}
	rest := b[1+k:]
	n := compact.RangeSize(0, size)
	if len(rest) != n*32 {
		return nil, fmt.Errorf("frontier: %d hash bytes for size %d, want %d", len(rest), size, n*32)
	}
	hs := make([][]byte, n)
	for i := range hs {
		hs[i] = append([]byte(nil), rest[i*32:(i+1)*32]...)
	}
	r, err := rangeFactory.NewRange(0, size, hs)
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	return &Frontier{r: r}, nil
}
