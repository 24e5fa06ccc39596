package receipts

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"

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
// records. SplitNDJSON is fuzzed (FuzzSplitNDJSON).
//
// Answer, with ?proofs=batch (and not ?witnessed=1, which always answers a
// receipt per record): one api.BatchReceipt instead of a Receipt per
// record, carrying one range proof (ledger.ProveRange) for the records this
// request appended instead of one inclusion proof each. api.BatchReceipts
// rebuilds the per-record Receipts in the form the JSON path answers, so
// "creditx verify-receipt" and everything else that reads receipts work
// unchanged on them.

// Store is the replica's committed state.
type Store interface {
	// View runs fn in a read transaction of ledger.db: committed state
	// only, consistent within fn. Its error is fn's or the store's.
	View(fn func(tx *ledger.ReadTx) error) error
}

// IsNDJSON says whether r's body is NDJSON (api.NDJSONContentType).
func IsNDJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == api.NDJSONContentType
}

// SplitNDJSON returns the non-empty LF-separated lines of body (sub-slices
// of body), at most max of them: more is a 413, none a 400.
func SplitNDJSON(body []byte, max int) ([][]byte, *api.ErrorBody) {
	var out [][]byte
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if len(line) == 0 {
			continue
		}
		if len(out) == max {
			return nil, &api.ErrorBody{Status: http.StatusRequestEntityTooLarge, Error: fmt.Sprintf("batch exceeds the limit of %d records", max),
				Errors: []api.FieldError{{Record: max, Rule: "max_batch", Message: fmt.Sprintf("record %d is over the limit of %d records per request; split the batch", max, max)}}}
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, &api.ErrorBody{Status: http.StatusBadRequest, Error: "empty body: send signed records, one per line"}
	}
	return out, nil
}

// Applied is what the FSM answered for an append command this replica
// applied (node applyResult).
type Applied struct {
	Origin     string
	Indices    []uint64 // the index of each entry of the command, in order
	Fresh      []bool   // false where the entry was already in the log
	Size       uint64   // tree size covered by Checkpoint
	Checkpoint []byte   // signed checkpoint covering every index in Indices
}

// Batch builds the api.BatchReceipt of the applied command a, whose
// entries are entries. The entries it appended must be contiguous (the
// FSM appends a command in one transaction); otherwise it panics.
func Batch(s Store, a Applied, entries [][]byte) (*api.BatchReceipt, error) {
	br := &api.BatchReceipt{Origin: a.Origin, Checkpoint: string(a.Checkpoint), Records: make([]api.BatchRecord, len(entries))}
	leaf := make(map[uint64]tlog.Hash, len(entries)) // appended by this command
	for i, e := range entries {
		if a.Fresh[i] {
			h := tlog.RecordHash(e)
			leaf[a.Indices[i]] = h
			if br.Count == 0 {
				br.First = a.Indices[i]
			}
			if a.Indices[i] != br.First+br.Count {
				panic(fmt.Sprintf("creditx: appended entries not contiguous: %d after range [%d, +%d)", a.Indices[i], br.First, br.Count))
			}
			br.Count++
		}
	}
	err := s.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(a.Origin)
		if br.Count > 0 {
			p, err := lr.RangeProof(br.First, br.First+br.Count, a.Size)
			if err != nil {
				return err
			}
			br.RangeProof = api.EncodeHashes(p)
		}
		for i := range entries {
			idx := a.Indices[i]
			rec := api.BatchRecord{Index: idx, Duplicate: !a.Fresh[i]}
			h, in := leaf[idx]
			if !in { // a record the ledger already had (package dedupe): the first copy's receipt
				first, err := lr.Entry(idx)
				if err != nil {
					return err
				}
				h = tlog.RecordHash(first)
				ps, err := lr.InclusionProofs([]uint64{idx}, a.Size)
				if err != nil {
					return err
				}
				rec.InclusionProof = api.EncodeHashes(ps[0])
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

// FromReceipts wraps per-record receipts (a forwarded submission) in an
// api.BatchReceipt with an empty range.
func FromReceipts(rs []api.Receipt) *api.BatchReceipt {
	br := &api.BatchReceipt{Records: make([]api.BatchRecord, len(rs))}
	for i, r := range rs {
		br.Origin, br.Checkpoint = r.Origin, r.Checkpoint
		br.Records[i] = api.BatchRecord{Index: r.Index, LeafHash: r.LeafHash, Duplicate: r.Duplicate, InclusionProof: r.InclusionProof}
	}
	return br
}
