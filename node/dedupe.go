package node

import (
	"maps"
	"slices"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/dedupe"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// Duplicates by record, not by signature (issue 11 item 5): package dedupe
// owns the records bucket and the rule; the FSM asks it per command
// (dedupe.NewBatch in fsm.go) and for mirrored listings (mirroredDuplicate).

// backfillRecordHashes adds the record hashes of the entries of every
// signing log and mirrored ledger appended before this version (or before a
// snapshot without them). It runs before raft starts.
func (f *fsm) backfillRecordHashes() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store.Update(func(tx *ledger.Tx) error {
		meta, err := tx.Bucket(fsmBucket)
		if err != nil {
			return err
		}
		origins := slices.Collect(maps.Keys(f.logs))
		mb, err := tx.Bucket(exchange.BucketMirror)
		if err != nil {
			return err
		}
		mb.ForEach(func(k, _ []byte) error { origins = append(origins, string(k)); return nil })
		slices.Sort(origins)
		return dedupe.Backfill(tx, meta, origins)
	})
}

// mirroredDuplicate says whether entry s (parsed; at index of mirrored
// ledger origin, of kind) is a listing whose record is already at an earlier
// index of that ledger; otherwise it records its record hash. Only listings are
// looked at (they alone queue notices). Runs inside the FSM's transaction.
func (ix *indexer) mirroredDuplicate(tx *ledger.Tx, origin string, index uint64, s *schemas.Signed, kind string) (bool, error) {
	if kind != "listing" || origin == ix.node.origin {
		return false, nil
	}
	return dedupe.Mirrored(tx, origin, index, s)
}
