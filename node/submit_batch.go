package node

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/receipts"
)

// The compact batch path of POST /v1/records (issue 21: NDJSON bodies,
// ?proofs=batch) is package internal/receipts; the handler (api.go) calls
// the glue below.

// NDJSONContentType, BatchReceipt and BatchRecord are the wire types (package api).
const NDJSONContentType = api.NDJSONContentType

type (
	BatchReceipt = api.BatchReceipt
	BatchRecord  = api.BatchRecord
)

func isNDJSON(r *http.Request) bool { return receipts.IsNDJSON(r) }

// splitNDJSON returns the non-empty lines of body, at most max (receipts.SplitNDJSON).
func splitNDJSON(body []byte, max int) ([][]byte, *apiError) { return receipts.SplitNDJSON(body, max) }

// submitBatch commits admitted entries and answers one BatchReceipt.
func (n *Node) submitBatch(w http.ResponseWriter, r *http.Request, entries [][]byte) {
	br, err := n.commitBatch(r.Context(), entries)
	if n.commitFailed(w, err, len(entries)) {
		return
	}
	writeCompactJSON(w, http.StatusOK, br)
}

// commitFailed answers a commit of count entries that did not succeed (a
// refusal with its reason, anything else 503 "safe to retry") and counts
// it; on success it counts the accepted entries and returns false.
func (n *Node) commitFailed(w http.ResponseWriter, err error, count int) bool {
	var refused *refusedError
	if errors.As(err, &refused) {
		n.metrics.rejected.WithLabelValues(strconv.Itoa(refused.ae.Status)).Add(float64(count))
		writeErr(w, refused.ae)
		return true
	}
	if err != nil {
		n.logger.Error("commit failed", "err", err)
		writeErr(w, errorf(http.StatusServiceUnavailable, "not committed, safe to retry: %v", err))
		return true
	}
	n.metrics.accepted.Add(float64(count))
	return false
}

// commitBatch is commit answering a BatchReceipt. On a follower it turns
// the leader's receipts into a BatchReceipt whose records each carry their
// own proof (an empty range).
func (n *Node) commitBatch(ctx context.Context, entries [][]byte) (*BatchReceipt, error) {
	p, err := n.propose(ctx, command{op: opAppend, origin: n.origin, entries: entries})
	if err != nil {
		return nil, err
	}
	if p.res == nil {
		return receipts.FromReceipts(p.receipts), nil
	}
	res := p.res
	return receipts.Batch(admissionHost{n}, receipts.Applied{Origin: res.Origin, Indices: res.Indices, Fresh: res.Fresh,
		Size: res.Size, Checkpoint: res.Checkpoint}, entries)
}
