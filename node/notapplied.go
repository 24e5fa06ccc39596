package node

import (
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	NotAppliedListing = api.NotAppliedListing
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
//
//	not-applied: origin || 0x00 || uint64 BE index -> reason (UTF-8)
const bucketNotApplied = "not-applied"

// notApplied records listing (at ek) as not applied if this member's
// engine can issue nothing for it, and reports whether it did.
func (ix *indexer) notApplied(tx *ledger.Tx, ek []byte, l *schemas.Listing) (bool, error) {
	if l == nil || ix.node.sanctions == nil {
		return false, nil
	}
	cb, err := tx.Bucket(bucketCatalogues)
	if err != nil {
		return false, err
	}
	reason := ix.node.engineOf(cb).NotApplied(l) // catalogue in force (adopted.go)
	if reason == "" {
		return false, nil
	}
	b, err := tx.Bucket(bucketNotApplied)
	if err != nil {
		return false, err
	}
	return true, b.Put(ek, []byte(reason))
}

// NotApplied lists the listings this member applies no measure of.
func (n *Node) NotApplied() ([]NotAppliedListing, error) {
	out := []NotAppliedListing{}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketNotApplied)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			origin, index, ok := splitEntryKey(k)
			if !ok {
				return nil
			}
			na := NotAppliedListing{Origin: origin, Index: index, State: "not_applied", Reason: string(v)}
			if l, ok := readRecord(tx, origin, index).(*schemas.Listing); ok {
				na.Programme, na.Domain = l.Programme.Code, l.Domain
			}
			out = append(out, na)
			return nil
		})
	})
	return out, err
}

// notAppliedReason is the reason listing (origin, index) is not applied here, or "".
func notAppliedReason(tx *ledger.ReadTx, origin string, index uint64) string {
	if b := tx.Bucket(bucketNotApplied); b != nil {
		return string(b.Get(entryKey(origin, index)))
	}
	return ""
}

// handleNotApplied is GET /v1/not-applied: the listings this member applies
// no measure of, with the reason. Auditors and the admin only.
func (n *Node) handleNotApplied(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin); !ok {
		return
	}
	out, err := n.NotApplied()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
