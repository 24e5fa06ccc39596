// Package receipts builds the receipts the region replica answers a
// submission with (api.Receipt, docs/API.md): for each submitted entry its
// origin, index and leaf hash, the signed checkpoint the append was
// covered by, and the inclusion proof against it, both as base64 hashes
// and as one C2SP-style proof (ledger.FormatProof).
//
// # Guarantees
//
//   - Every proof verifies against the checkpoint of the receipt: both are
//     read in the one read transaction the caller gives, at the tree size
//     the append reported.
//   - A resubmitted entry (Fresh false: the FSM kept the first index of an
//     entry, or of a re-signed record, node/dedupe.go) gets the first
//     copy's receipt: its index and the leaf hash of the bytes stored
//     there, marked Duplicate.
//
// # Failures
//
// A failed read of the proofs is returned as package ledger words it, a
// failed read of a first copy's entry wrapped with its index; no partial
// list of receipts is returned then. Both reach the submitter in the
// answer's error (node: 503 "not committed, safe to retry"). This package owns no
// bucket and no state.
package receipts

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// Appended is what the FSM reports of one applied append command.
type Appended struct {
	Origin     string
	Indices    []uint64 // the index of each entry of the command, in order
	Fresh      []bool   // false where the entry was already in the log
	Size       uint64   // tree size covered by Checkpoint
	Checkpoint []byte   // signed checkpoint covering every index in Indices
}

// Build returns the receipt of each of entries (the command's entries, in
// order) of the append a, read in tx.
func Build(tx *ledger.ReadTx, a Appended, entries [][]byte) ([]api.Receipt, error) {
	lr := tx.Log(a.Origin)
	proofs, err := lr.InclusionProofs(a.Indices, a.Size)
	if err != nil {
		return nil, err // as the ledger words it: the submitter sees it (503, safe to retry)
	}
	out := make([]api.Receipt, len(entries))
	for i, e := range entries {
		idx, p := a.Indices[i], proofs[i]
		lh := tlog.RecordHash(e)
		if !a.Fresh[i] { // the first copy's receipt (a re-signed record)
			first, err := lr.Entry(idx)
			if err != nil {
				return nil, fmt.Errorf("reading entry %d for its receipt: %w", idx, err)
			}
			lh = tlog.RecordHash(first)
		}
		out[i] = api.Receipt{
			Origin: a.Origin, Index: idx, LeafHash: hex.EncodeToString(lh[:]), Duplicate: !a.Fresh[i],
			Checkpoint: string(a.Checkpoint), InclusionProof: b64Hashes(p),
			Proof: string(ledger.FormatProof(ledger.Proof{Extra: lh[:], Index: idx, Hashes: p, Checkpoint: a.Checkpoint})),
		}
	}
	return out, nil
}

func b64Hashes(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}
