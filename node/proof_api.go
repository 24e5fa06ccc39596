package node

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/receipts"
	"github.com/creditx/creditx/ledger"
)

// Witnessed receipts (POST /v1/records?witnessed=1, GET /v1/proof) are
// package internal/receipts; these are the node's glue.

// DefaultWitnessWait and MaxWitnessWait bound ?wait= of a witnessed submission.
const (
	DefaultWitnessWait = receipts.DefaultWitnessWait
	MaxWitnessWait     = receipts.MaxWitnessWait
)

// witnessWait reads ?witnessed= and ?wait= of a submission (receipts.WitnessWait).
func (n *Node) witnessWait(r *http.Request) (wait time.Duration, ok bool, aerr *apiError) {
	return receipts.WitnessWait(r.URL.Query(), n.x != nil)
}

// witnessed is the witnessed-receipt builder over n for its own log own
// (its ledger, or its witnessed loop log); n must be a member.
func (n *Node) witnessed(own string) receipts.Witnessed {
	return receipts.Witnessed{Store: admissionHost{n}, Manifest: liveManifest{n}, Own: own, Code: n.cfg.Region}
}

// liveManifest is the manifest in force at each call (it changes by
// governance while a witnessed submission waits).
type liveManifest struct{ n *Node }

func (m liveManifest) LatestWitnessed(tx *ledger.ReadTx, own, origin string) ([]byte, uint64, error) {
	return m.n.x.Manifest().LatestWitnessed(tx, own, origin)
}

func (m liveManifest) ProveWitnessed(tx *ledger.ReadTx, origin string, index uint64, signed []byte, size uint64) (*exchange.WitnessedProof, error) {
	return m.n.x.Manifest().ProveWitnessed(tx, origin, index, signed, size)
}

func (m liveManifest) QuorumRule() string { return m.n.x.Manifest().QuorumRule() }

// witnessedReceipts replaces the receipts' proofs by proofs against a
// witnessed checkpoint covering all of them (receipts.Witnessed.Wait).
// The answer's write deadline (TimeoutsConfig) is moved to wait + write.
func (n *Node) witnessedReceipts(ctx context.Context, w http.ResponseWriter, own string, rs []Receipt, wait time.Duration) ([]Receipt, *apiError) {
	n.holdWrite(w)(wait)
	return n.witnessed(own).Wait(ctx, rs, wait)
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
	wd := n.witnessed(n.origin)
	rc, size, err := wd.Proof(origin, index)
	if err != nil {
		n.readError(w, fmt.Sprintf("proof %s/%d", origin, index), err)
		return
	}
	if rc == nil {
		writeErr(w, errorf(http.StatusNotFound, "no checkpoint of %s with %s covers index %d yet (latest witnessed size %d)", origin, wd.Manifest.QuorumRule(), index, size))
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
