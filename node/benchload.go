package node

import (
	"fmt"
	"time"

	"github.com/creditx/creditx/ledger"
)

// LoadDirect appends entries to this region's ledger through the FSM's own
// apply step (the append command's checks, dedupe, the indexer with the
// check index, and a signed checkpoint covering them) in one durable bbolt
// transaction, without raft, HTTP or admission. It exists so that the P3
// benchmark (creditx bench check --direct) can build a ledger of 10^7
// listings in minutes.
//
// Benchmark use only, on a single-replica region with no other write in
// flight: raft's log does not hold these entries, so other replicas never
// receive them and a raft snapshot restore would drop them, and the
// admission checks (schema validation, agency key and domain) are skipped.
// The entries must be validly signed records (the indexer decodes them).
func (n *Node) LoadDirect(entries [][]byte) error {
	f := n.fsm
	sl, ok := f.logs[n.origin]
	if !ok {
		return fmt.Errorf("load direct: this node does not sign %s", n.origin)
	}
	for len(entries) > 0 {
		k := min(len(entries), maxCommandEntries)
		data, err := encodeCommand(command{op: opAppend, origin: n.origin, entries: entries[:k]})
		if err != nil {
			return err
		}
		entries = entries[k:]
		f.mu.RLock()
		err = f.store.Update(func(tx *ledger.Tx) error {
			f.now = time.Now()
			r, err := f.applyCommand(tx, data)
			if err != nil {
				return err
			}
			if r.Err != nil {
				return r.Err
			}
			_, _, err = tx.CheckpointTree(n.origin, sl.signer, sl.verifier)
			return err
		})
		f.mu.RUnlock()
		if err != nil {
			return fmt.Errorf("load direct: %w", err)
		}
	}
	if f.host != nil {
		f.host.Applied(nil)
	}
	return nil
}
