package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/conflicts"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
)

// Wire types of this file's endpoints (package api).
type (
	RecordedConflict = api.RecordedConflict
)

// Conflicts among listings (issue 12): package conflicts owns the bucket
// and the merge of recorded and current conflicts; the FSM re-detects a
// subject's conflicts with the engine in force when it indexes an entry
// touching it (indexConflicts). Views: GET /v1/conflicts and /audit list
// the recorded conflicts; the check answer of a subject carries its
// conflicts at the instant asked (subjectConflicts).

// bucketConflicts is package conflicts' bucket.
const bucketConflicts = conflicts.Bucket

// indexConflicts re-detects the conflicts of the subjects touched by the
// entry (origin, index) of kind, indexed in tx (conflicts.Reindexer), with
// the engine in force at the entry's raft time.
func (ix *indexer) indexConflicts(tx *ledger.Tx, origin string, idx uint64, v index.View) error {
	if ix.node.sanctions == nil || ix.node.sanctions.engine == nil {
		return nil // no sanctions engine (some tests): nothing to judge with
	}
	ri := conflicts.Reindexer{Engine: func(tx *ledger.ReadTx) conflicts.Detector { return ix.node.engineIn(tx) },
		Read: readRecord, History: ix.node.history}
	return ri.Reindex(tx, origin, idx, v, ix.node.fsm.now.UTC())
}

// subjectConflicts merges the recorded conflicts of subject key with those
// in force at instant at.
func (n *Node) subjectConflicts(tx *ledger.ReadTx, key string, hs []sanctions.ListingHistory, at time.Time) ([]RecordedConflict, error) {
	rec, err := conflicts.Recorded(tx, key)
	if err != nil {
		return nil, err
	}
	return conflicts.Merge(rec, n.engineIn(tx).DetectConflicts(hs, at)), nil
}

// Conflicts lists every recorded conflict, by subject, and whether it is
// still in force now. It fails if the bucket cannot be read.
func (n *Node) Conflicts() ([]RecordedConflict, error) {
	out := []RecordedConflict{}
	at := time.Now()
	err := n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		out, err = conflicts.List(tx, func(key string) ([]RecordedConflict, error) {
			hs, err := n.subjectHistories(tx, key)
			if err != nil {
				return nil, err
			}
			return n.subjectConflicts(tx, key, hs, at)
		})
		return err
	})
	return out, err
}

// handleConflicts is GET /v1/conflicts. Auditors and the admin only: a
// conflict names subjects (USCC or keyed id_hash).
func (n *Node) handleConflicts(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin); !ok {
		return
	}
	out, err := n.Conflicts()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
