package exchange

import (
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
	for i, c := range codes {
		s[i] = scored{c, sha256.Sum256([]byte(witnessOrderPrefix + origin + "\x00" + c))}
	}
	slices.SortFunc(s, func(a, b scored) int {
		if c := strings.Compare(string(b.h[:]), string(a.h[:])); c != 0 {
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
