package node

// Derived state the indexer keeps for the sanctions engine: the notice
// queue fed in the FSM's transaction, and the histories of listings read
// back for notices, checks and the subject API.

import (
	"encoding/hex"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// indexSanctions is called by the indexer for every entry (same transaction).
func (ix *indexer) indexSanctions(tx *ledger.Tx, origin string, ek []byte, v indexView) error {
	switch {
	case v.kind == "listing":
		if na, err := ix.notApplied(tx, ek, v.listing); err != nil || na {
			return err // recorded as not_applied (notapplied.go): nothing to issue
		}
		q, err := tx.Bucket(bucketNoticeQueue)
		if err != nil {
			return err
		}
		at, err := ix.queueValue(tx) // raft time || catalogue in force (catalogue.go)
		if err != nil {
			return err
		}
		return q.Put(ek, at)
	case v.kind == "sanction_notice" && ix.node.ownNoticeLog(origin) && len(v.refs) > 0: // loop.go
		q, err := tx.Bucket(bucketNoticeQueue)
		if err != nil {
			return err
		}
		if err := q.Delete(entryKey(v.refs[0].Origin, v.refs[0].Index)); err != nil {
			return err
		}
		nb, err := tx.Bucket(bucketNotices)
		if err != nil {
			return err
		}
		if v.provisional {
			if err := ix.indexProvisionalNotice(tx, ek); err != nil {
				return err
			}
		}
		return nb.Put(append(append([]byte(v.agency), 0), ek...), nil)
	}
	return nil
}

// history builds a listing's history for the sanctions engine: every
// event referencing it that can change its state (corrections, repairs,
// objections and the decisions on them). Sanction notices and their feedback
// never change a listing's state, so they are skipped by the kind byte of the
// refs index without reading them.
func history(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	logs := map[string]*ledger.LogReader{}
	logOf := func(o string) *ledger.LogReader {
		lr, ok := logs[o]
		if !ok {
			lr = tx.Log(o)
			logs[o] = lr
		}
		return lr
	}
	e, err := logOf(origin).Entry(index)
	if err != nil {
		return sanctions.ListingHistory{}, fmt.Errorf("history of %s/%d: %w", origin, index, err)
	}
	h := tlog.RecordHash(e)
	lh := sanctions.ListingHistory{Ref: schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, Listing: l}
	var add func(refs []EventRef, depth int) error
	add = func(refs []EventRef, depth int) error {
		for _, ev := range refs {
			if ev.Kind == "sanction_notice" || ev.Kind == "feedback" {
				continue
			}
			// A read error is not skipped: a history missing its repair or
			// correction would state the listing wrongly.
			eb, err := logOf(ev.Origin).Entry(ev.Index)
			if err != nil {
				return fmt.Errorf("history of %s/%d: event %s/%d: %w", origin, index, ev.Origin, ev.Index, err)
			}
			rec := decodeRecord(eb)
			if rec == nil {
				continue
			}
			eh := tlog.RecordHash(eb)
			lh.Events = append(lh.Events, sanctions.Event{Ref: schemas.Ref{Origin: ev.Origin, Index: ev.Index, Hash: hex.EncodeToString(eh[:])}, Seq: ev.Index, Record: rec})
			if depth == 0 && ev.Kind == "objection" {
				if err := add(referencing(tx, ev.Origin, ev.Index), 1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(referencing(tx, origin, index), 0); err != nil {
		return sanctions.ListingHistory{}, err
	}
	return lh, nil
}

// subjectHistories returns the histories of every listing indexed under key.
// A listing or event that cannot be read is an error, never skipped: a check
// answered without it could say "allowed" of a restricted subject.
func (n *Node) subjectHistories(tx *ledger.ReadTx, key string) ([]sanctions.ListingHistory, error) {
	var out []sanctions.ListingHistory
	for _, le := range subjectListings(tx, key) {
		e, err := tx.Log(le.origin).Entry(le.index)
		if err != nil {
			return nil, fmt.Errorf("listing %s/%d: %w", le.origin, le.index, err)
		}
		l, err := decodeListing(e)
		if err != nil {
			continue
		}
		h, err := n.history(tx, le.origin, le.index, l)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
