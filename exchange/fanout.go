package exchange

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
)

// DefaultWitnessSpares is how many witnesses beyond the quorum a member
// asks to cosign each checkpoint, so that one slow or absent witness does
// not stall it (issue 20: asking every member cost N-1 raft writes per
// checkpoint and N-1 cosignature lines in every served checkpoint).
const DefaultWitnessSpares = 2

// witnessOrderPrefix separates the rendezvous hash from every other hash
// in creditx. Changing it changes which members witness whom (harmless:
// the next push learns the new witnesses' state from a 409).
const witnessOrderPrefix = "creditx witness order v1\x00"

// WitnessOrder orders candidate witness codes for checkpoints of origin
// by rendezvous hash (highest SHA-256(prefix || origin || 0 || code)
// first): the same origin asks the same witnesses every time, so their
// last cosigned size stays known, different origins spread over the
// members, and a member joining or leaving moves only the origins it wins
// or held. Pure: no I/O.
func WitnessOrder(origin string, codes []string) []string {
	type scored struct {
		code string
		h    [32]byte
	}
	s := make([]scored, len(codes))
	// One buffer for every hash input, and the comparison on the arrays:
	// no allocation per candidate (issue 20: this ran per mirror on every
	// status read and follow round, 11% of the CPU at 45 members with its
	// garbage on top).
	buf := make([]byte, 0, len(witnessOrderPrefix)+len(origin)+1+16)
	buf = append(append(append(buf, witnessOrderPrefix...), origin...), 0)
	base := len(buf)
	for i, c := range codes {
		buf = append(buf[:base], c...)
		s[i] = scored{c, sha256.Sum256(buf)}
	}
	slices.SortFunc(s, func(a, b scored) int {
		if c := bytes.Compare(b.h[:], a.h[:]); c != 0 {
			return c
		}
		return strings.Compare(a.code, b.code)
	})
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i].code
	}
	return out
}

// FanOut is how many member witnesses a checkpoint is first pushed to:
// the quorum plus spares, at most every candidate. With a witness_policy
// (its groups may need particular members) it is every candidate.
func (m *Manifest) FanOut(candidates, spares int) int {
	if m.policy != nil {
		return candidates
	}
	return min(candidates, m.WitnessQuorum+max(0, spares))
}
