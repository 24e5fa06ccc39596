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
	"github.com/creditx/creditx/schemas"
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
// entry (origin, index) of kind, indexed in tx (its subjects and refs are
// already in the index). Unreadable records touch nothing.
func (ix *indexer) indexConflicts(tx *ledger.Tx, origin string, idx uint64, v index.View) error {
	if ix.node.sanctions == nil || ix.node.sanctions.engine == nil {
		return nil // no sanctions engine (some tests): nothing to judge with
	}
	rtx := tx.Read()
	var l *schemas.Listing
	var self *index.JustIndexed // the listing indexed just now, not decoded again
	switch v.Kind {
	case "listing":
		l = v.Listing
		self = &index.JustIndexed{Origin: origin, Index: idx, Leaf: v.Leaf, Listing: l}
	case "repair", "correction":
		if len(v.Refs) > 0 {
			l, _ = readRecord(rtx, v.Refs[0].Origin, v.Refs[0].Index).(*schemas.Listing)
		}
	case "objection_decision":
		if len(v.Refs) > 0 {
			if o, ok := readRecord(rtx, v.Refs[0].Origin, v.Refs[0].Index).(*schemas.Objection); ok {
				l, _ = readRecord(rtx, o.Target.Origin, o.Target.Index).(*schemas.Listing)
			}
		}
	}
	if l == nil {
		return nil
	}
	// Created here even when l names no subject key, as before the move
	// (every replica's bucket set stays the same across versions).
	if _, err := tx.Bucket(conflicts.Bucket); err != nil {
		return err
	}
	at := ix.node.fsm.now.UTC()
	eng := ix.node.engineIn(rtx)
	for _, key := range conflicts.Subjects(l) {
		hs, err := index.CheckHistories(rtx, key, self, ix.node.history) // the check index
		if err != nil {
			return err
		}
		if err := conflicts.Put(tx, key, eng.DetectConflicts(hs, at), origin, idx, at); err != nil {
			return err
		}
	}
	return nil
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
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		keys, err := conflicts.Keys(tx)
		if err != nil {
			return err
		}
		for _, key := range keys {
			hs, err := n.subjectHistories(tx, key)
			if err != nil {
				return err
			}
			cs, err := n.subjectConflicts(tx, key, hs, at)
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.Detected != nil {
					out = append(out, c)
				}
			}
		}
		return nil
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
