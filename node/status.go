package node

import (
	"bytes"
	"slices"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// Listing states, derived from the events that reference a listing.
const (
	StateActive    = "active"    // restricts the subject
	StateSuspended = "suspended" // an objection is pending: disclosure suspended, measures still apply
	StateRemoved   = "removed"   // repaired or removed after an upheld objection
	StateWithdrawn = "withdrawn" // withdrawn by a correction
	StateExpired   = "expired"   // publicity period over
)

// ListingStatus is a listing's state at a point in time.
type ListingStatus struct {
	State  string     `json:"state"`
	Reason string     `json:"reason,omitempty"`
	events []EventRef // every event referencing the listing (and their replies)
}

// Restricts reports whether the listing restricts its subject.
func (s ListingStatus) Restricts() bool { return s.State == StateActive || s.State == StateSuspended }

// EventRef names an event related to a listing.
type EventRef struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	Kind   string `json:"kind"`
}

var kindName = map[byte]string{kListing: "listing", kNotice: "sanction_notice", kFeedback: "feedback", kObjection: "objection",
	kDecision: "objection_decision", kRepair: "repair", kCorrection: "correction", kGovernance: "governance"}

// referencing lists the events that reference (origin, index).
func referencing(tx *ledger.ReadTx, origin string, index uint64) []EventRef {
	b := tx.Bucket(bucketRefs)
	if b == nil {
		return nil
	}
	prefix := entryKey(origin, index)
	var out []EventRef
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if o, i, ok := splitEntryKey(k[len(prefix):]); ok && len(v) == 1 {
			out = append(out, EventRef{Origin: o, Index: i, Kind: kindName[v[0]]})
		}
	}
	return out
}

// listingState derives a listing's state at time at from the events that
// reference it, considering only events created at or before at.
func listingState(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing, at time.Time) ListingStatus {
	st := ListingStatus{State: StateActive}
	day := at.UTC().Format("2006-01-02")
	if l.ListedOn.String() > day {
		return ListingStatus{State: "not_yet_listed"}
	}
	evs := referencing(tx, origin, index)
	pending := false
	for _, ev := range evs {
		rec := readRecord(tx, ev.Origin, ev.Index)
		if rec == nil || schemas.HeaderOf(rec).CreatedAt.After(at) {
			continue
		}
		switch r := rec.(type) {
		case *schemas.Correction:
			if r.Action == "withdraw" {
				st = ListingStatus{State: StateWithdrawn, Reason: r.Reason}
			}
		case *schemas.Repair:
			if slices.Contains(r.Effects, "remove") {
				st = ListingStatus{State: StateRemoved, Reason: "repair: " + r.Type}
			}
		case *schemas.Objection:
			decided := false
			for _, d := range referencing(tx, ev.Origin, ev.Index) {
				st.events = append(st.events, d)
				dr, ok := readRecord(tx, d.Origin, d.Index).(*schemas.ObjectionDecision)
				if !ok || schemas.HeaderOf(dr).CreatedAt.After(at) {
					continue
				}
				decided = true
				if dr.Decision != "rejected" && slices.Contains(dr.Actions, "remove") {
					st = ListingStatus{State: StateRemoved, Reason: "objection upheld"}
				}
			}
			if !decided {
				pending = true
			}
		}
	}
	if st.State == StateActive && l.PublicityEnd.String() < day {
		st = ListingStatus{State: StateExpired, Reason: "publicity period ended " + l.PublicityEnd.String()}
	}
	if st.State == StateActive && pending {
		st = ListingStatus{State: StateSuspended, Reason: "objection pending"}
	}
	st.events = append(evs, st.events...)
	return st
}

func readRecord(tx *ledger.ReadTx, origin string, index uint64) schemas.Record {
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return nil
	}
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil
	}
	rec, err := s.Decode()
	if err != nil {
		return nil
	}
	return rec
}
