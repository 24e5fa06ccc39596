package node

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Owner rules at admission (issue 11 items 1-2, issue 12 "binding").
//
// After the role, key, signature and reference checks of admit, a record
// that acts on an earlier entry must come from that entry's rightful owner
// as sanctions.CheckOwner says (the one table of owner rules): a refusal is
// a 403 field error naming the target entry and its rightful owner, and
// nothing of the batch is written. The lifecycle applies the same table to
// every ledger this node mirrors (history marks which events a credit
// office wrote), so an entry that another member's node let through stays
// in the ledger but changes nothing, and Status.Ignored says why.
//
// A governance record the keyring would refuse (revoking an unknown or
// revoked key, registering a key id again) is refused here with the
// keyring's reason, and again by the FSM (checkEntryKey), so that the
// ledger never holds an entry every verifier must reject.

// admitOwner runs the owner-table, governance and repair-authority checks
// of record rec (entry i of a batch, signed with ki, to be written at index
// at of this region's ledger).
func (n *Node) admitOwner(id pki.Identity, ki schemas.KeyInfo, at uint64, i int, s *schemas.Signed, rec schemas.Record) []statusFieldError {
	forbid := func(field, msg string) []statusFieldError {
		return []statusFieldError{{http.StatusForbidden, FieldError{Record: i, Field: field, Rule: "owner", Message: msg}}}
	}
	if g, ok := rec.(*schemas.Governance); ok {
		if err := n.keyring.Load().Check(at, g, s.KeyID); err != nil {
			return []statusFieldError{{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record." + g.Action, Rule: "keyring", Message: err.Error()}}}
		}
		return nil
	}
	c, ok, err := n.ownerCase(rec, n.recordLog(rec), sanctions.Writer{USCC: schemas.HeaderOf(rec).Submitter, CreditOffice: ki.Anchor})
	if err != nil {
		return []statusFieldError{n.readFailed(i, "the record's target", err)}
	}
	if !ok {
		return nil // the reference check reports a missing target
	}
	if err := sanctions.CheckOwner(c); err != nil {
		var oe *sanctions.OwnerError
		if errors.As(err, &oe) {
			return forbid(oe.Field, err.Error())
		}
		return forbid("record", err.Error())
	}
	if r, ok := rec.(*schemas.Repair); ok && !ki.Anchor {
		l := c.Target.(*schemas.Listing) // CheckOwner passed: it is a listing
		if prog, known := n.sanctions.engine.Catalogue().Programme(l.Programme.Code); known && prog.Repair.RequiresAuthority != "" {
			need := prog.Repair.RequiresAuthority
			if !slices.Contains(id.Domains, need) && !slices.Contains(ki.Domains, need) {
				return forbid("record.decision.authority", fmt.Sprintf("a repair under programme %s must be decided by the %s authority (catalogue requires_authority); %s is not registered for %s",
					prog.Code, need, r.Submitter, need))
			}
		}
	}
	return nil
}

// ownerCase builds the owner-table case of rec written in origin by w,
// reading the entries it acts on from any ledger this node holds. ok is
// false for a record kind without a rule, or when the target is not here.
func (n *Node) ownerCase(rec schemas.Record, origin string, w sanctions.Writer) (c sanctions.OwnerCase, ok bool, err error) {
	target, ok := sanctions.OwnedTarget(rec)
	if !ok {
		return c, false, nil
	}
	c = sanctions.OwnerCase{Record: rec, Origin: origin, By: w, TargetRef: target}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		c.Target = readRecord(tx, target.Origin, target.Index)
		if o, isObj := c.Target.(*schemas.Objection); isObj {
			if l, isL := readRecord(tx, o.Target.Origin, o.Target.Index).(*schemas.Listing); isL {
				c.Listing, c.ListingOrigin = l, o.Target.Origin
			}
		}
		return nil
	})
	return c, c.Target != nil, err
}

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

// checkEntryGovernance is the FSM's part of the governance check (called by
// checkEntryKey for this region's own ledger): a governance record the
// keyring would refuse at index is refused, so a revocation racing another
// one cannot leave an entry every verifier rejects.
func (n *Node) checkEntryGovernance(index uint64, s *schemas.Signed) error {
	// Cheap filter first: in canonical JSON this text appears only as the
	// schema member of a governance record (quotes inside strings are escaped).
	if !bytes.Contains(s.Record, []byte(`"schema":"governance/`)) {
		return nil
	}
	rec, err := s.Decode()
	if err != nil {
		return nil
	}
	g, ok := rec.(*schemas.Governance)
	if !ok {
		return nil
	}
	if err := n.keyring.Load().Check(index, g, s.KeyID); err != nil {
		return fmt.Errorf("%w: %v", errGovernanceRefused, err)
	}
	return nil
}

// errGovernanceRefused wraps a keyring refusal found at apply time.
var errGovernanceRefused = errors.New("governance record refused by the keyring")
