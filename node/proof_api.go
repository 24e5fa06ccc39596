package node

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
)

// Witnessed receipts (docs/API.md):
//
//   - POST /v1/records?witnessed=1[&wait=DUR] answers, once the records are
//     durable, only when a checkpoint covering every one of them carries the
//     witness quorum of the manifest; each receipt's proof (a C2SP
//     tlog-proof, leaf hash in the extra line) is then against that
//     cosigned checkpoint and verifies with exchange.Manifest.VerifyReceipt.
//     Past wait (default DefaultWitnessWait, at most MaxWitnessWait) it
//     answers 504 naming what it waited for; the records stay committed and
//     GET /v1/proof gives their receipts later.
//   - GET /v1/proof/{code}/{index} is the receipt of any entry of the own
//     ledger or a mirror against the latest witnessed checkpoint (public:
//     it holds hashes only, as the hash tiles do); 404 if no witnessed
//     checkpoint covers the entry yet.

// DefaultWitnessWait and MaxWitnessWait bound ?wait= of a witnessed submission.
const (
	DefaultWitnessWait = 10 * time.Second
	MaxWitnessWait     = 2 * time.Minute
)

// witnessWait reads ?witnessed= and ?wait= of a submission; ok=false means
// no witnessed receipt was asked for. Bad values are a 400 before anything
// is written.
func (n *Node) witnessWait(r *http.Request) (wait time.Duration, ok bool, aerr *apiError) {
	q := r.URL.Query()
	if !q.Has("witnessed") {
		if q.Has("wait") {
			return 0, false, errorf(http.StatusBadRequest, "wait is only meaningful with witnessed=1")
		}
		return 0, false, nil
	}
	switch q.Get("witnessed") {
	case "0", "false":
		return 0, false, nil
	case "1", "true", "":
	default:
		return 0, false, errorf(http.StatusBadRequest, "witnessed=%q: want 1 or 0", q.Get("witnessed"))
	}
	if n.x == nil {
		return 0, false, errorf(http.StatusBadRequest, "witnessed=1: this node is not a consortium member, no witness cosigns its checkpoints")
	}
	wait = DefaultWitnessWait
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > MaxWitnessWait {
			return 0, false, errorf(http.StatusBadRequest, "wait=%q: want a duration such as 5s, above 0 and at most %s", s, MaxWitnessWait)
		}
		wait = d
	}
	return wait, true, nil
}

// witnessedReceipts replaces the receipts' proofs by proofs against a
// witnessed checkpoint covering all of them, polling until one exists or
// wait passes.
// The answer's write deadline (TimeoutsConfig) is moved to wait + write.
func (n *Node) witnessedReceipts(ctx context.Context, w http.ResponseWriter, rs []Receipt, wait time.Duration) ([]Receipt, *apiError) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + n.cfg.Timeouts.withDefaults().Write))
	var need uint64
	for _, r := range rs {
		need = max(need, r.Index+1)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		var out []Receipt
		var have uint64
		err := n.fsm.view(func(tx *ledger.ReadTx) error {
			signed, size, err := n.latestWitnessed(tx, n.origin)
			if err != nil || size < need {
				have = size
				return err
			}
			out = make([]Receipt, len(rs))
			for i, r := range rs {
				wr, err := n.witnessedReceipt(tx, n.origin, r.Index, signed, size)
				if err != nil {
					return err
				}
				wr.Duplicate = r.Duplicate
				out[i] = *wr
			}
			return nil
		})
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "records committed, reading the witnessed checkpoint failed: %v", err)
		}
		if out != nil {
			return out, nil
		}
		select {
		case <-ctx.Done():
			idx := make([]string, len(rs))
			for i, r := range rs {
				idx[i] = strconv.FormatUint(r.Index, 10)
			}
			return nil, errorf(http.StatusGatewayTimeout,
				"records committed at index %s of %s, but after %s no checkpoint of size >= %d carries %s (latest witnessed size %d); GET /v1/proof/%s/<index> later",
				strings.Join(idx, ","), n.origin, wait, need, n.quorumRule(), have, n.cfg.Region)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// quorumRule names the witness quorum of the manifest.
func (n *Node) quorumRule() string { return n.x.Manifest().QuorumRule() }

// latestWitnessed is origin's latest checkpoint with the witness quorum
// (exchange.Manifest.LatestWitnessed). size 0 and no error: none yet.
func (n *Node) latestWitnessed(tx *ledger.ReadTx, origin string) (signed []byte, size uint64, err error) {
	return n.x.Manifest().LatestWitnessed(tx, n.origin, origin)
}

// witnessedReceipt is the receipt of entry index of origin against signed
// (of tree size size).
func (n *Node) witnessedReceipt(tx *ledger.ReadTx, origin string, index uint64, signed []byte, size uint64) (*Receipt, error) {
	p, err := n.x.Manifest().ProveWitnessed(tx, origin, index, signed, size)
	if err != nil {
		return nil, err
	}
	return &Receipt{Origin: origin, Index: index, LeafHash: hex.EncodeToString(p.LeafHash[:]), Checkpoint: string(signed),
		InclusionProof: b64Hashes(p.Hashes), Witnesses: p.Witnesses, Proof: string(p.Proof)}, nil
}

// handleProof serves GET /v1/proof/{code}/{index}.
func (n *Node) handleProof(w http.ResponseWriter, r *http.Request) {
	if n.x == nil {
		writeErr(w, errorf(http.StatusNotFound, "this node is not a consortium member: it has no witnessed checkpoints"))
		return
	}
	origin, ok := n.originForCode(r.PathValue("code"))
	if !ok {
		writeErr(w, errorf(http.StatusNotFound, "no ledger %q on this node", r.PathValue("code")))
		return
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "index %q is not a number", r.PathValue("index")))
		return
	}
	var rc *Receipt
	var size uint64
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		var signed []byte
		var err error
		if signed, size, err = n.latestWitnessed(tx, origin); err != nil || size <= index {
			return err
		}
		rc, err = n.witnessedReceipt(tx, origin, index, signed, size)
		return err
	})
	if err != nil {
		n.readError(w, fmt.Sprintf("proof %s/%d", origin, index), err)
		return
	}
	if rc == nil {
		writeErr(w, errorf(http.StatusNotFound, "no checkpoint of %s with %s covers index %d yet (latest witnessed size %d)", origin, n.quorumRule(), index, size))
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/plain") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(rc.Proof))
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

// ReceiptFileName is the file `creditx submit --proof DIR` writes a
// receipt's proof to: <member code>-<index>.tlog-proof (tlog-proof's
// extension).
func ReceiptFileName(r Receipt) string {
	return memberCode(r.Origin) + "-" + strconv.FormatUint(r.Index, 10) + ".tlog-proof"
}
