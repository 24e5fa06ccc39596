package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// The compact batch path of POST /v1/records (issue 21). Two independent
// options, each keeping every guarantee of the JSON path: the answer still
// comes only when the records are durable on a raft quorum and covered by
// the signed checkpoint it carries, and every record can still be proved
// on its own.
//
// Request body, Content-Type application/x-ndjson: the signed records, each
// exactly the bytes a JSON batch would carry, one per line, separated by
// one LF (0x0A); a record never contains a raw LF (canonical JSON escapes
// it). Empty lines, including a final LF, are skipped; a CR is not
// stripped (it makes the record fail its envelope check). At most max_batch
// records. splitNDJSON is fuzzed (FuzzSplitNDJSON).
//
// Answer, with ?proofs=batch (and not ?witnessed=1, which always answers a
// receipt per record): one BatchReceipt instead of a Receipt per record,
// carrying one range proof (ledger.ProveRange) for the records this
// request appended instead of one inclusion proof each. BatchReceipts
// rebuilds the per-record Receipts in the form the JSON
// path answers, so "creditx verify-receipt" and everything else that reads
// receipts work unchanged on them.

// NDJSONContentType, BatchReceipt and BatchRecord are the wire types (package api).
const NDJSONContentType = api.NDJSONContentType

type (
	BatchReceipt = api.BatchReceipt
	BatchRecord  = api.BatchRecord
)

func isNDJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == NDJSONContentType
}

// splitNDJSON returns the non-empty LF-separated lines of body (sub-slices
// of body), at most max of them.
func splitNDJSON(body []byte, max int) ([][]byte, *apiError) {
	var out [][]byte
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if len(line) == 0 {
			continue
		}
		if len(out) == max {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Error: fmt.Sprintf("batch exceeds the limit of %d records", max),
				Errors: []FieldError{{Record: max, Rule: "max_batch", Message: fmt.Sprintf("record %d is over the limit of %d records per request; split the batch", max, max)}}}
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, errorf(http.StatusBadRequest, "empty body: send signed records, one per line")
	}
	return out, nil
}

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
		return batchFromReceipts(p.receipts), nil
	}
	return n.batchReceipt(p.res, entries)
}

// batchReceipt builds the BatchReceipt of an applied command.
func (n *Node) batchReceipt(res *applyResult, entries [][]byte) (*BatchReceipt, error) {
	br := &BatchReceipt{Origin: res.Origin, Checkpoint: string(res.Checkpoint), Records: make([]BatchRecord, len(entries))}
	leaf := make(map[uint64]tlog.Hash, len(entries)) // appended by this command
	for i, e := range entries {
		if res.Fresh[i] {
			h := tlog.RecordHash(e)
			leaf[res.Indices[i]] = h
			if br.Count == 0 {
				br.First = res.Indices[i]
			}
			if res.Indices[i] != br.First+br.Count {
				panic(fmt.Sprintf("creditx: appended entries not contiguous: %d after range [%d, +%d)", res.Indices[i], br.First, br.Count))
			}
			br.Count++
		}
	}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(res.Origin)
		if br.Count > 0 {
			p, err := lr.RangeProof(br.First, br.First+br.Count, res.Size)
			if err != nil {
				return err
			}
			br.RangeProof = b64Hashes(p)
		}
		for i := range entries {
			idx := res.Indices[i]
			rec := BatchRecord{Index: idx, Duplicate: !res.Fresh[i]}
			h, in := leaf[idx]
			if !in { // a record the ledger already had (dedupe.go): the first copy's receipt
				first, err := lr.Entry(idx)
				if err != nil {
					return err
				}
				h = tlog.RecordHash(first)
				ps, err := lr.InclusionProofs([]uint64{idx}, res.Size)
				if err != nil {
					return err
				}
				rec.InclusionProof = b64Hashes(ps[0])
			}
			rec.LeafHash = hex.EncodeToString(h[:])
			br.Records[i] = rec
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return br, nil
}

// batchFromReceipts wraps per-record receipts (a forwarded submission) in
// a BatchReceipt with an empty range.
func batchFromReceipts(rs []Receipt) *BatchReceipt {
	br := &BatchReceipt{Records: make([]BatchRecord, len(rs))}
	for i, r := range rs {
		br.Origin, br.Checkpoint = r.Origin, r.Checkpoint
		br.Records[i] = BatchRecord{Index: r.Index, LeafHash: r.LeafHash, Duplicate: r.Duplicate, InclusionProof: r.InclusionProof}
	}
	return br
}
