package conflicts

import (
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Detector detects the conflicts among a subject's listing histories in
// force at an instant: the sanctions engine of the catalogue and calendar
// in force (sanctions.Engine). A conflict is between two listings or more:
// given fewer it must detect none, and [Reindex] does not ask it then.
type Detector interface {
	DetectConflicts(hs []sanctions.ListingHistory, at time.Time) []sanctions.Conflict
}

// Reindexer is what [Reindex] needs of the replica.
type Reindexer struct {
	// Engine is the detector in force in tx; asked once per entry that
	// touches a listing.
	Engine func(tx *ledger.ReadTx) Detector
	// Read decodes the record at origin#index; nil if it cannot be read.
	Read func(tx *ledger.ReadTx, origin string, index uint64) schemas.Record
	// History builds the history of a flagged listing of the check index
	// (index.CheckHistories).
	History index.HistoryFunc
}

// Reindex re-detects, at raft time at, the conflicts of the subjects
// touched by the entry (origin, idx) of view v, indexed in tx (its
// subjects and refs are already in the index), and records them ([Put]).
// A listing touches its subjects; a repair or correction those of the
// listing it names; an objection decision those of the objection's
// listing. Unreadable records touch nothing. It returns only storage
// errors (the FSM's transaction then fails as a whole).
func (ri Reindexer) Reindex(tx *ledger.Tx, origin string, idx uint64, v index.View, at time.Time) error {
	rtx := tx.Read()
	var l *schemas.Listing
	var self *index.JustIndexed // the listing indexed just now, not decoded again
	switch v.Kind {
	case "listing":
		l = v.Listing
		self = &index.JustIndexed{Origin: origin, Index: idx, Leaf: v.Leaf, Listing: l}
	case "repair", "correction":
		if len(v.Refs) > 0 {
			l, _ = ri.Read(rtx, v.Refs[0].Origin, v.Refs[0].Index).(*schemas.Listing)
		}
	case "objection_decision":
		if len(v.Refs) > 0 {
			if o, ok := ri.Read(rtx, v.Refs[0].Origin, v.Refs[0].Index).(*schemas.Objection); ok {
				l, _ = ri.Read(rtx, o.Target.Origin, o.Target.Index).(*schemas.Listing)
			}
		}
	}
	if l == nil {
		return nil
	}
	// Created here even when l names no subject key, as before the move
	// (every replica's bucket set stays the same across versions).
	if _, err := tx.Bucket(Bucket); err != nil {
		return err
	}
	var eng Detector // made at the first subject with two listings or more
	for _, key := range Subjects(l) {
		hs, err := index.CheckHistories(rtx, key, self, ri.History) // the check index
		if err != nil {
			return err
		}
		// One listing alone conflicts with nothing (Detector), so most
		// subjects, listed once, skip the engine and its state walk; Put
		// records "none" for them as it did.
		var cs []sanctions.Conflict
		if len(hs) > 1 {
			if eng == nil {
				eng = ri.Engine(rtx)
			}
			cs = eng.DetectConflicts(hs, at)
		}
		if err := Put(tx, key, cs, origin, idx, at); err != nil {
			return err
		}
	}
	return nil
}

// List lists every recorded conflict still detected, subject by subject
// ([Keys] order); of gives a subject's conflicts merged with those in
// force ([Merge]). It stops at the first error, returning what it listed
// before it.
func List(tx *ledger.ReadTx, of func(key string) ([]api.RecordedConflict, error)) ([]api.RecordedConflict, error) {
	out := []api.RecordedConflict{}
	keys, err := Keys(tx)
	if err != nil {
		return out, err
	}
	for _, key := range keys {
		cs, err := of(key)
		if err != nil {
			return out, err
		}
		for _, c := range cs {
			if c.Detected != nil {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
