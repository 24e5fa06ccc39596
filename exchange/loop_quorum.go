package exchange

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

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
//
// What is not kept is counted, per member whose loop log it is, in GET
// /v1/exchange (LoopStatus.CosigFailed, CosigUnchecked): a forged line does
// not stop a note that has a quorum without it, and is not stored, but it
// must not vanish either.

// errNoQuorum: fewer verified cosignatures than the witness quorum.
var errNoQuorum = errors.New("cosignatures do not meet the witness quorum")

// CosigLines counts the cosignature lines of a served note that quorumNote
// did not keep.
type CosigLines struct {
	// Failed: lines by a witness key of the manifest (name and key hash)
	// whose signature does not verify (or is not base64): forged or
	// corrupted.
	Failed uint64
	// Unchecked: lines not checked, because the quorum was already met,
	// their key is no witness key of the manifest (a witness of another
	// manifest, or a made-up key), or their witness already had a line.
	Unchecked uint64
}

func (l *CosigLines) add(o CosigLines) {
	l.Failed += o.Failed
	l.Unchecked += o.Unchecked
}

// cosigCounts sums CosigLines per member code since the node started.
type cosigCounts struct {
	mu sync.Mutex
	by map[string]CosigLines // member code -> lines; guarded by mu
}

func (c *cosigCounts) add(code string, l CosigLines) {
	if l == (CosigLines{}) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]CosigLines{}
	}
	v := c.by[code]
	v.add(l)
	c.by[code] = v
}

func (c *cosigCounts) get(code string) CosigLines {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by[code]
}

// quorumNote returns cp's signed note (opened with code's log key, its
// signature verified) reduced to the log's signature lines and the first
// cosignature lines, by distinct witnesses of m other than code, that
// verify, until m.WitnessQuorum of them did, and those witnesses' names.
// A cosignature line that does not verify is skipped (it is not kept);
// lines counts it, and the lines left unchecked. With a witness_policy the
// policy decides, over every cosignature: the note is checked whole
// (Manifest.witnessedBy) and returned as it is, and lines is zero.
func quorumNote(m *Manifest, code string, v note.Verifier, cp *ledger.Checkpoint) (_ []byte, _ []string, lines CosigLines, _ error) {
	if m.policy != nil {
		names, ok, err := m.witnessedBy(code, v, cp.Signed)
		if err != nil {
			return nil, names, lines, err
		}
		if !ok {
			return nil, names, lines, errNoQuorum
		}
		return cp.Signed, names, lines, nil
	}
	n := cp.Note
	out := []byte(n.Text + "\n")
	for _, s := range n.Sigs { // verified by Open: the log's key
		out = append(out, "— "+s.Name+" "+s.Base64+"\n"...)
	}
	ws := m.WitnessVerifiers(code)
	var names []string
	for i, s := range n.UnverifiedSigs {
		if len(names) >= m.WitnessQuorum {
			lines.Unchecked += uint64(len(n.UnverifiedSigs) - i)
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
			lines.Unchecked++
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(s.Base64)
		if err != nil || len(sig) < 5 || !w.Verify([]byte(n.Text), sig[4:]) {
			lines.Failed++
			continue
		}
		names = append(names, s.Name)
		out = append(out, "— "+s.Name+" "+s.Base64+"\n"...)
	}
	if len(names) < m.WitnessQuorum {
		return nil, names, lines, fmt.Errorf("%w: %d of %d", errNoQuorum, len(names), m.WitnessQuorum)
	}
	return out, names, lines, nil
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
// with that log's key (CheckpointCache.Open). lines is what this call
// checked and did not keep: zero when the answer comes from the cache, so
// that summing lines counts each distinct note once (again only if it was
// dropped from the cache).
func (c *CheckpointCache) QuorumNote(m *Manifest, origin string, cp *ledger.Checkpoint) (_ []byte, _ []string, lines CosigLines, _ error) {
	k := cacheKey{sum: sha256.Sum256(cp.Signed), kind: 'q', what: origin, owner: m}
	if r, ok := c.get(k); ok {
		return r.note, r.names, lines, r.err
	}
	mb, v, found := m.LogOf(origin)
	if !found {
		return nil, nil, lines, fmt.Errorf("manifest: no member log %q", origin)
	}
	for _, s := range cp.Note.Sigs {
		if s.Name != v.Name() || s.Hash != v.KeyHash() {
			return nil, nil, lines, fmt.Errorf("checkpoint of %s not opened with its log key alone", origin)
		}
	}
	c.checks.Add(1)
	out, names, lines, err := quorumNote(m, mb.Code, v, cp)
	c.put(k, cacheVal{note: out, names: names, err: err})
	return out, names, lines, err
}
