package exchange

import (
	"fmt"
	"net/http"

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

// use returns the served proof if it proves the tree of size small and
// root smallRoot a prefix of big; nil otherwise (the caller builds one
// from the tiles).
func (sp *servedProof) use(big *ledger.Checkpoint, small uint64, smallRoot tlog.Hash) tlog.TreeProof {
	if sp == nil || sp.old != small || small == 0 || small > big.Size {
		return nil
	}
	if tlog.CheckTree(sp.proof, int64(big.Size), big.Root, int64(small), smallRoot) != nil {
		return nil
	}
	return sp.proof
}
