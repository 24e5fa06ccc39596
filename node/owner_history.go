package node

import (
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// The owner rules at admission are in package internal/admission
// (sanctions.CheckOwner); the lifecycle applies the same table to every
// ledger this node mirrors, with each event of a listing's history marked
// as written by a credit office or not (history below).

// creditOfficeEntry says whether entry e of origin is signed by a
// credit-office anchor key of that ledger: this region's configured anchors
// for its own ledger, for a mirror the anchors of the member in the
// manifest in force as of tx (exchange.Runtime.InForceAt, read from tx only:
// history runs inside the FSM too, conflicts.go, where every replica must
// decide alike), so a city that joined by governance has a credit office.
func (n *Node) creditOfficeEntry(tx *ledger.ReadTx, origin string, e []byte) bool {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return false
	}
	if origin == n.origin {
		ki, err := n.keyring.Load().Lookup(s.KeyID, 0)
		return err == nil && ki.Anchor
	}
	if n.x == nil {
		return false
	}
	mb, ok := n.x.InForceAt(tx).MemberByOrigin(origin)
	if !ok {
		return false
	}
	for _, pub := range mb.AnchorKeys() {
		if schemas.KeyID(pub) == s.KeyID {
			return true
		}
	}
	return false
}

// history is the package's history with every event marked as written by a
// credit office or not (sanctions.Event.CreditOffice), for the owner table.
func (n *Node) history(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing) (sanctions.ListingHistory, error) {
	h, err := history(tx, origin, index, l)
	if err != nil {
		return h, err
	}
	for i := range h.Events {
		ev := &h.Events[i]
		switch ev.Record.(type) {
		case *schemas.Correction, *schemas.Repair, *schemas.ObjectionDecision:
			e, err := tx.Log(ev.Ref.Origin).Entry(ev.Ref.Index)
			if err != nil {
				return h, fmt.Errorf("history of %s/%d: event %s/%d: %w", origin, index, ev.Ref.Origin, ev.Ref.Index, err)
			}
			ev.CreditOffice = n.creditOfficeEntry(tx, ev.Ref.Origin, e)
		}
	}
	return h, nil
}
