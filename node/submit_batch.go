package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
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

// BatchReceipts checks a batch receipt and rebuilds each record's Receipt
// (with its inclusion proof and tlog-proof text, as the JSON path answers). It
// checks the checkpoint's signature with v when v is not nil (without it,
// only the checkpoint's form: check the receipts later, e.g. "creditx
// verify-receipt"), the range proof against the checkpoint's root with the
// records' leaf hashes, and every record's inclusion proof. A receipt that
// does not verify returns an error and no receipts.
func BatchReceipts(b *BatchReceipt, v note.Verifier) ([]Receipt, error) {
	size, root, err := checkpointTree(b.Checkpoint, b.Origin, v)
	if err != nil {
		return nil, err
	}
	leaves := make([]tlog.Hash, b.Count)
	set := make([]bool, b.Count)
	hashes := make([]tlog.Hash, len(b.Records))
	for i, r := range b.Records {
		if err := decodeHexHash(r.LeafHash, &hashes[i]); err != nil {
			return nil, fmt.Errorf("record %d: leaf hash: %w", i, err)
		}
		if r.Index >= b.First && r.Index-b.First < b.Count {
			k := r.Index - b.First
			if set[k] && leaves[k] != hashes[i] {
				return nil, fmt.Errorf("record %d: two leaf hashes for index %d", i, r.Index)
			}
			leaves[k], set[k] = hashes[i], true
		}
	}
	var paths []tlog.RecordProof
	if b.Count > 0 {
		for k, ok := range set {
			if !ok {
				return nil, fmt.Errorf("no record for index %d of the range", b.First+uint64(k))
			}
		}
		proof, err := decodeB64Hashes(b.RangeProof)
		if err != nil {
			return nil, fmt.Errorf("range proof: %w", err)
		}
		if paths, err = ledger.RangeInclusionProofs(size, root, b.First, leaves, proof); err != nil {
			return nil, err
		}
	}
	out := make([]Receipt, len(b.Records))
	for i, r := range b.Records {
		var p tlog.RecordProof
		if r.Index >= b.First && r.Index-b.First < b.Count {
			p = paths[r.Index-b.First]
		} else {
			if p, err = decodeB64Hashes(r.InclusionProof); err != nil {
				return nil, fmt.Errorf("record %d: inclusion proof: %w", i, err)
			}
		}
		if r.Index >= size {
			return nil, fmt.Errorf("record %d: index %d not below the checkpoint's size %d", i, r.Index, size)
		}
		if err := tlog.CheckRecord(p, int64(size), root, int64(r.Index), hashes[i]); err != nil {
			return nil, fmt.Errorf("record %d (index %d): %w", i, r.Index, err)
		}
		lh := hashes[i]
		out[i] = Receipt{Origin: b.Origin, Index: r.Index, LeafHash: r.LeafHash, Duplicate: r.Duplicate, Checkpoint: b.Checkpoint,
			InclusionProof: b64Hashes(p),
			Proof:          string(ledger.FormatProof(ledger.Proof{Extra: lh[:], Index: r.Index, Hashes: p, Checkpoint: []byte(b.Checkpoint)}))}
	}
	return out, nil
}

// checkpointTree returns the size and root of a signed checkpoint for
// origin, verifying its signature with v if v is not nil.
func checkpointTree(signed, origin string, v note.Verifier) (uint64, tlog.Hash, error) {
	if v != nil {
		cp, err := ledger.OpenCheckpoint([]byte(signed), origin, v)
		if err != nil {
			return 0, tlog.Hash{}, err
		}
		return cp.Size, cp.Root, nil
	}
	text, _, ok := strings.Cut(signed, "\n\n")
	if !ok {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: no signature block")
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(text + "\n")); err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: %w", err)
	}
	if c.Origin != origin || len(c.Hash) != tlog.HashSize {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint: origin %q (want %q) or root of %d bytes", c.Origin, origin, len(c.Hash))
	}
	var root tlog.Hash
	copy(root[:], c.Hash)
	return c.Size, root, nil
}

func decodeHexHash(s string, h *tlog.Hash) error {
	if len(s) != 2*tlog.HashSize {
		return fmt.Errorf("%d hex digits, want 64", len(s))
	}
	_, err := hex.Decode(h[:], []byte(s))
	return err
}

func decodeB64Hashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d: not 32 bytes of std base64", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
