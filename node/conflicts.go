package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	RecordedConflict = api.RecordedConflict
)

// Conflicts among listings (issue 12), detected when they are indexed.
//
// When the FSM indexes a listing (own or mirrored), or an event that can
// change a listing's state (repair, correction, objection decision), it
// runs sanctions.Engine.DetectConflicts (catalogue and calendar in force,
// at the entry's raft time) over every listing of that listing's subject in
// every ledger this node holds, and records the result in the conflicts
// bucket: the same act listed twice (shared decision document numbers, by
// one member or two), or a subject on a red and a black list at once. The
// decision reads only the ledgers and the index, so every replica records
// the same at the same entry. Conflicts are reported, never resolved.
//
// Views: GET /v1/conflicts and /audit list the recorded conflicts, each
// with the entry whose indexing detected it and whether it is still in
// force now (a publicity period may have ended since; that is not an
// entry); the check answer of a subject carries its conflicts at the
// instant asked, each with the entry that recorded it.
//
//	conflicts: subject key (USCC or person id_hash) -> JSON conflictRecord
//	           (absent: no conflict at the last entry that touched the subject)
//
// Changing the bucket name or layout breaks existing data directories.
const bucketConflicts = "conflicts"

// conflictRecord is the bucket value: the subject's conflicts as detected
// at entry (Origin, Index), raft time At.
type conflictRecord struct {
	Conflicts []sanctions.Conflict `json:"conflicts"`
	Origin    string               `json:"origin"`
	Index     uint64               `json:"index"`
	At        time.Time            `json:"at"`
}

// conflictSubjects are the subject keys DetectConflicts groups listing l under.
func conflictSubjects(l *schemas.Listing) []string {
	var out []string
	if l.Subject.USCC != "" {
		out = append(out, l.Subject.USCC)
	}
	if l.Subject.Type == schemas.SubjectNaturalPerson && l.Subject.Person != nil && l.Subject.Person.IDHash != "" {
		out = append(out, l.Subject.Person.IDHash)
	}
	return out
}

// indexConflicts re-detects the conflicts of the subjects touched by the
// entry (origin, index) of kind, indexed in tx (its subjects and refs are
// already in the index). Unreadable records touch nothing.
func (ix *indexer) indexConflicts(tx *ledger.Tx, origin string, index uint64, v indexView) error {
	if ix.node.sanctions == nil || ix.node.sanctions.engine == nil {
		return nil // no sanctions engine (some tests): nothing to judge with
	}
	rtx := tx.Read()
	var l *schemas.Listing
	var self *justIndexed // the listing indexed just now, not decoded again
	switch v.kind {
	case "listing":
		l = v.listing
		self = &justIndexed{origin: origin, index: index, leaf: v.leaf, listing: l}
	case "repair", "correction":
		if len(v.refs) > 0 {
			l, _ = readRecord(rtx, v.refs[0].Origin, v.refs[0].Index).(*schemas.Listing)
		}
	case "objection_decision":
		if len(v.refs) > 0 {
			if o, ok := readRecord(rtx, v.refs[0].Origin, v.refs[0].Index).(*schemas.Objection); ok {
				l, _ = readRecord(rtx, o.Target.Origin, o.Target.Index).(*schemas.Listing)
			}
		}
	}
	if l == nil {
		return nil
	}
	b, err := tx.Bucket(bucketConflicts)
	if err != nil {
		return err
	}
	at := ix.node.fsm.now.UTC()
	eng := ix.node.engineIn(rtx)
	for _, key := range conflictSubjects(l) {
		hs, err := ix.node.checkHistoriesWith(rtx, key, self) // the check index (checkindex.go)
		if err != nil {
			return err
		}
		cs := eng.DetectConflicts(hs, at)
		if len(cs) == 0 {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
			continue
		}
		v, err := json.Marshal(conflictRecord{Conflicts: cs, Origin: origin, Index: index, At: at})
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), v); err != nil {
			return err
		}
	}
	return nil
}

// recordedConflicts reads the record of subject key (none: zero value).
func recordedConflicts(tx *ledger.ReadTx, key string) (conflictRecord, error) {
	var r conflictRecord
	b := tx.Bucket(bucketConflicts)
	if b == nil {
		return r, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return r, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("conflicts bucket, subject %q: %w", key, err)
	}
	return r, nil
}

// sameConflict reports whether a and b name the same conflict.
func sameConflict(a, b sanctions.Conflict) bool {
	return a.Kind == b.Kind && a.Subject == b.Subject && slices.Equal(a.Listings, b.Listings)
}

// subjectConflicts merges the recorded conflicts of subject key with those
// in force at instant at.
func (n *Node) subjectConflicts(tx *ledger.ReadTx, key string, hs []sanctions.ListingHistory, at time.Time) ([]RecordedConflict, error) {
	rec, err := recordedConflicts(tx, key)
	if err != nil {
		return nil, err
	}
	now := n.engineIn(tx).DetectConflicts(hs, at)
	var out []RecordedConflict
	for _, c := range rec.Conflicts {
		rc := RecordedConflict{Conflict: c, Detected: &schemas.Ref{Origin: rec.Origin, Index: rec.Index}, Since: rec.At}
		rc.InForce = slices.ContainsFunc(now, func(x sanctions.Conflict) bool { return sameConflict(x, c) })
		out = append(out, rc)
	}
	for _, c := range now {
		if !slices.ContainsFunc(rec.Conflicts, func(x sanctions.Conflict) bool { return sameConflict(x, c) }) {
			out = append(out, RecordedConflict{Conflict: c, InForce: true})
		}
	}
	return out, nil
}

// Conflicts lists every recorded conflict, by subject, and whether it is
// still in force now. It fails if the bucket cannot be read.
func (n *Node) Conflicts() ([]RecordedConflict, error) {
	out := []RecordedConflict{}
	at := time.Now()
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketConflicts)
		if b == nil {
			return nil
		}
		var keys []string
		if err := b.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil }); err != nil {
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
