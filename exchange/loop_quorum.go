package exchange

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// Following checks each witnessed loop checkpoint a peer serves (issue 20).
// A served loop checkpoint carries the log's signature and the cosignatures
// of the q + s witnesses it was pushed to; checking all of them (and the
// log's signature twice, once to open it and once among the cosigned note's
// signatures) was ~6 Ed25519 verifications per checkpoint at each of the
// N-1 followers, the largest share of the 45-member --loop-log profile
// (15% of the CPU) once the long-polls were fixed. quorumNote checks the
// cosignatures only until the quorum is met and keeps only those it
// checked: the note a follower stores, and later serves as a custodian,
// carries the log's signature and a quorum of verified cosignatures, no
// line this member did not check.

// errNoQuorum: fewer verified cosignatures than the witness quorum.
var errNoQuorum = errors.New("cosignatures do not meet the witness quorum")

// quorumNote returns cp's signed note (opened with code's log key, its
// signature verified) reduced to the log's signature lines and the first
// cosignature lines, by distinct witnesses of m other than code, that
// verify, until m.WitnessQuorum of them did, and those witnesses' names.
// A cosignature line that does not verify is skipped (it is not kept). With
// a witness_policy the policy decides, over every cosignature: the note is
// checked whole (Manifest.witnessedBy) and returned as it is.
func quorumNote(m *Manifest, code string, v note.Verifier, cp *ledger.Checkpoint) ([]byte, []string, error) {
	if m.policy != nil {
		names, ok, err := m.witnessedBy(code, v, cp.Signed)
		if err != nil {
			return nil, names, err
		}
		if !ok {
			return nil, names, errNoQuorum
		}
		return cp.Signed, names, nil
	}
	n := cp.Note
	out := []byte(n.Text + "\n")
	for _, s := range n.Sigs { // verified by Open: the log's key
		out = append(out, "— "+s.Name+" "+s.Base64+"\n"...)
	}
	ws := m.WitnessVerifiers(code)
	var names []string
	for _, s := range n.UnverifiedSigs {
		if len(names) >= m.WitnessQuorum {
			break
		}
		var w note.Verifier
		for _, c := range ws {
			if c.Name() == s.Name && c.KeyHash() == s.Hash {
				w = c
				break
			}
		}
		if w == nil || containsName(names, s.Name) {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(s.Base64)
		if err != nil || len(sig) < 5 || !w.Verify([]byte(n.Text), sig[4:]) {
			continue
		}
		names = append(names, s.Name)
		out = append(out, "— "+s.Name+" "+s.Base64+"\n"...)
	}
	if len(names) < m.WitnessQuorum {
		return nil, names, fmt.Errorf("%w: %d of %d", errNoQuorum, len(names), m.WitnessQuorum)
	}
	return out, names, nil
}

func containsName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// QuorumNote is quorumNote for origin's log (Manifest.LogOf), checked once
// per distinct signed bytes, origin and manifest; cp is the note opened
// with that log's key (CheckpointCache.Open).
func (c *CheckpointCache) QuorumNote(m *Manifest, origin string, cp *ledger.Checkpoint) ([]byte, []string, error) {
	k := cacheKey{sum: sha256.Sum256(cp.Signed), kind: 'q', what: origin, owner: m}
	if r, ok := c.get(k); ok {
		return r.note, r.names, r.err
	}
	mb, v, found := m.LogOf(origin)
	if !found {
		return nil, nil, fmt.Errorf("manifest: no member log %q", origin)
	}
	for _, s := range cp.Note.Sigs {
		if s.Name != v.Name() || s.Hash != v.KeyHash() {
			return nil, nil, fmt.Errorf("checkpoint of %s not opened with its log key alone", origin)
		}
	}
	c.checks.Add(1)
	out, names, err := quorumNote(m, mb.Code, v, cp)
	c.put(k, cacheVal{note: out, names: names, err: err})
	return out, names, err
}
