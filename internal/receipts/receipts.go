// Per-record receipts of an applied append (see the package doc).

package receipts

import (
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
	cp := string(a.Checkpoint) // one copy shared by every receipt, not one each
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
			Checkpoint: cp, InclusionProof: api.EncodeHashes(p),
			Proof: string(ledger.FormatProof(ledger.Proof{Extra: lh[:], Index: idx, Hashes: p, Checkpoint: a.Checkpoint})),
		}
	}
	return out, nil
}
