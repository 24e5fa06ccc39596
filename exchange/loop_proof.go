package exchange

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// A consistency proof with the loop long-poll's answer (issue 20, P8).
//
// A member following another member's loop log checks every checkpoint it
// takes against the last one it followed with a consistency proof
// (followServed). It used to build that proof itself from the origin's hash
// tiles, authenticated against the new checkpoint's root: 2-3 tile requests
// per followed checkpoint, at 45 members about a third of all the HTTP/3
// requests of a convergence. A follower now asks its long-poll for the
// proof as well (?proof=1, beside after=<size>), and the origin answers the
// checkpoint with a consistency proof from the tree of size after, computed
// from its own log, in one answer:
//
//	Content-Type: text/x.creditx.loop-checkpoint-proof
//	body: the C2SP tlog-witness add-checkpoint request body (AddCheckpoint):
//	"old " <after> "\n", the proof's hashes in base64 one a line, "\n",
//	the signed checkpoint note as the plain answer would carry it.
//
// Without a proof to give (after is 0, the checkpoint is not larger than
// after, or the old node does not know the parameter) the answer is the
// plain checkpoint, text/plain, as before. Nothing in the answer is
// trusted: the follower checks the proof with tlog.CheckTree against the
// root it followed and the root of the checkpoint it verified (signature
// and cosignature quorum), exactly the check the proof from tiles
// passed; a proof that does not verify, or one from another size than the
// follower needs, is not used, and the follower builds its proof from the
// tiles as before (so a bad proof alone raises no fork alert).
//
// A proof from the size the follower needs that does not verify is not
// dropped silently: an origin serving bad proofs costs every follower the
// tile reads the proof was to save, and may be a broken or hostile node.
// Such a refusal is counted (Work.RefusedProofs) and shown per member in
// GET /v1/exchange (LoopStatus.ProofsRefused, with the last reason and
// time), and logged at Warn once per member per change from proofs used
// to proofs refused, not per answer (proofRefusals). A proof from another
// size than needed is not a refusal: the follower may have asked from a
// size it no longer builds on (a queued checkpoint stored meanwhile).
// Versioning rule: another body format gets another content type.

// LoopProofContentType is the content type of a loop long-poll answer
// carrying a consistency proof.
const LoopProofContentType = "text/x.creditx.loop-checkpoint-proof"

// LoopProofAfter says whether r is a member's loop long-poll (as
// WaitLoopCheckpoint accepts it) that asks for a consistency proof from the
// size it gives in after=, and that size.
func (x *Runtime) LoopProofAfter(r *http.Request) (uint64, bool) {
	if r.URL.Query().Get("proof") != "1" {
		return 0, false
	}
	after, _, ok := x.longPollQuery(r)
	return after, ok && after > 0
}

// LoopProofAnswer is the body of a loop long-poll answer with a proof:
// signed (the checkpoint served, a checkpoint of lr's log) with a
// consistency proof from the tree of size after, read from lr; nil when
// there is none to give (signed not larger than after, or the proof could
// not be read: the plain checkpoint is served then).
func LoopProofAnswer(lr *ledger.LogReader, signed []byte, after uint64) []byte {
	size := servedSize(signed)
	if after == 0 || size <= after {
		return nil
	}
	p, err := lr.ConsistencyProof(after, size)
	if err != nil {
		return nil
	}
	return AddCheckpoint{OldSize: after, Proof: p, Checkpoint: signed}.Encode()
}

// servedProof is the proof a loop long-poll answer carried: from the tree
// of size old to the tree of the checkpoint it came with. Unverified.
type servedProof struct {
	old   uint64
	proof tlog.TreeProof
}

// parseLoopAnswer splits a loop long-poll answer of content type ct into
// the checkpoint and the proof it carried (nil: none).
func parseLoopAnswer(ct string, b []byte) ([]byte, *servedProof, error) {
	if ct != LoopProofContentType {
		return b, nil, nil
	}
	a, err := ParseAddCheckpoint(b)
	if err != nil {
		return nil, nil, fmt.Errorf("loop checkpoint with a proof: %w", err)
	}
	return a.Checkpoint, &servedProof{old: a.OldSize, proof: a.Proof}, nil
}

// errProofRefused: a served proof from the size the follower needs that
// does not verify between the roots it trusts.
var errProofRefused = errors.New("served consistency proof does not verify")

// use returns the served proof if it proves the tree of size small and
// root smallRoot a prefix of big; nil otherwise (the caller builds one
// from the tiles). The error (errProofRefused) says the proof was from
// size small and did not verify: a refusal to count (proofRefusals); a
// proof from another size, or none, is nil and no error.
func (sp *servedProof) use(big *ledger.Checkpoint, small uint64, smallRoot tlog.Hash) (tlog.TreeProof, error) {
	if sp == nil || sp.old != small || small == 0 || small > big.Size {
		return nil, nil
	}
	if err := tlog.CheckTree(sp.proof, int64(big.Size), big.Root, int64(small), smallRoot); err != nil {
		return nil, fmt.Errorf("%w: %d -> %d (%d hashes): %v", errProofRefused, small, big.Size, len(sp.proof), err)
	}
	return sp.proof, nil
}

// proofRefusals records, per member, the served consistency proofs
// refused (use's error) since the node started: GET /v1/exchange's
// LoopStatus.ProofsRefused, ProofRefused and ProofRefusedAt.
type proofRefusals struct {
	mu sync.Mutex
	by map[string]*proofRefusal // member code -> its refusals; guarded by mu
}

// proofRefusal is one member's refused proofs.
type proofRefusal struct {
	n      uint64
	reason string
	at     time.Time
	warned bool // logged at Warn since the last served proof of this member used
}

// refused counts a refusal of code's proof for reason at at; true if it is
// the first since code's last proof used (or since the start): the caller
// logs it at Warn then, and only then.
func (p *proofRefusals) refused(code string, reason error, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[string]*proofRefusal{}
	}
	r := p.by[code]
	if r == nil {
		r = &proofRefusal{}
		p.by[code] = r
	}
	r.n++
	r.reason, r.at = reason.Error(), at
	warn := !r.warned
	r.warned = true
	return warn
}

// used notes that a served proof of code was used: the next refusal is
// logged again.
func (p *proofRefusals) used(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.by[code]; r != nil {
		r.warned = false
	}
}

// get is code's refusals so far (zero: none).
func (p *proofRefusals) get(code string) proofRefusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.by[code]; r != nil {
		return *r
	}
	return proofRefusal{}
}
