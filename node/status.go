package node

import (
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	EventRef = api.EventRef
)

// Listing states, as derived by the sanctions engine (sanctions.State*).
const (
	StateActive    = sanctions.StateActive
	StateSuspended = sanctions.StateSuspended
	StateRemoved   = sanctions.StateRemoved
	StateWithdrawn = sanctions.StateWithdrawn
	StateExpired   = sanctions.StateExpired
)

// ListingStatus is a listing's state at a point in time.
type ListingStatus struct {
	State     string               `json:"state"`
	Reason    string               `json:"reason,omitempty"`
	Disclosed bool                 `json:"disclosed"`
	Restrict  bool                 `json:"restricts"`
	Deadlines []sanctions.Deadline `json:"deadlines,omitempty"`
	Ignored   []sanctions.Ignored  `json:"ignored_events,omitempty"`
	// NotApplied is why this member applies none of the listing's measures
	// (internal/notices); "" when it does or none are owed.
	NotApplied string     `json:"not_applied,omitempty"`
	events     []EventRef // every event referencing the listing (and their replies)
}

// Restricts reports whether the listing restricts its subject.
func (s ListingStatus) Restricts() bool { return s.Restrict }

// referencing lists the events that reference (origin, index).
func referencing(tx *ledger.ReadTx, origin string, i uint64) []EventRef {
	return index.Referencing(tx, origin, i)
}

// listingState derives a listing's state at time at with the sanctions
// engine, from every event that references it in any ledger this node holds.
func (n *Node) listingState(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing, at time.Time) ListingStatus {
	h, err := n.history(tx, origin, index, l)
	if err != nil {
		return ListingStatus{State: "unknown", Reason: "this replica could not read the listing's history: " + err.Error()}
	}
	st, err := n.engineIn(tx).State(h, at)
	if err != nil {
		return ListingStatus{State: "unknown", Reason: err.Error()}
	}
	return ListingStatus{State: st.State, Reason: st.Reason, Disclosed: st.Disclosed, Restrict: st.Restricts, Deadlines: st.Deadlines,
		Ignored: st.Ignored, NotApplied: notAppliedReason(tx, origin, index), events: referencing(tx, origin, index)}
}

func readRecord(tx *ledger.ReadTx, origin string, index uint64) schemas.Record {
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return nil
	}
	return schemas.DecodeEntry(e)
}
