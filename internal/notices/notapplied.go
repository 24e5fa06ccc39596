package notices

import (
	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// Listings this member cannot apply (issue 12: no silent failures).
//
// A listing of any ledger this node holds that this member's sanctions
// engine can issue no notice for (sanctions.Engine.NotApplied: a programme
// its catalogue does not know, no measure for the subject's type, no
// executing agency of this member) is recorded by the FSM, when it indexes
// the listing, in the not-applied bucket with the reason, and is not queued
// for notices. The decision reads only the listing, the catalogue and the
// agency directory, so every replica records the same. /audit, GET
// /v1/not-applied and the listing's status show it; nothing is only logged.

// MarkNotApplied records the listing at entry key ek as not applied, with
// reason, and reports whether it did (not for an empty reason).
func MarkNotApplied(tx *ledger.Tx, ek []byte, reason string) (bool, error) {
	if reason == "" {
		return false, nil
	}
	b, err := tx.Bucket(BucketNotApplied)
	if err != nil {
		return false, err
	}
	return true, b.Put(ek, []byte(reason))
}

// ListNotApplied lists the listings this member applies no measure of.
func ListNotApplied(tx *ledger.ReadTx) ([]api.NotAppliedListing, error) {
	out := []api.NotAppliedListing{}
	b := tx.Bucket(BucketNotApplied)
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		origin, index, ok := exchange.SplitEntryKey(k)
		if !ok {
			return nil
		}
		na := api.NotAppliedListing{Origin: origin, Index: index, State: "not_applied", Reason: string(v)}
		if l, ok := readRecord(tx, origin, index).(*schemas.Listing); ok {
			na.Programme, na.Domain = l.Programme.Code, l.Domain
		}
		out = append(out, na)
		return nil
	})
	return out, err
}

// NotAppliedReason is the reason listing (origin, index) is not applied here, or "".
func NotAppliedReason(tx *ledger.ReadTx, origin string, index uint64) string {
	if b := tx.Bucket(BucketNotApplied); b != nil {
		return string(b.Get(exchange.EntryKey(origin, index)))
	}
	return ""
}
