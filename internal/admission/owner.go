package admission

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/creditx/creditx/api"
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
// keyring's reason, and again by the FSM (CheckEntry), so that the
// ledger never holds an entry every verifier must reject.

// owner runs the owner-table, governance and repair-authority checks
// of record rec (entry i of a batch, signed with ki, to be written at index
// at of this region's ledger).
func (c *Checker) owner(id pki.Identity, ki schemas.KeyInfo, at uint64, i int, s *schemas.Signed, rec schemas.Record) []Problem {
	forbid := func(field, msg string) []Problem {
		return []Problem{{http.StatusForbidden, api.FieldError{Record: i, Field: field, Rule: "owner", Message: msg}}}
	}
	if g, ok := rec.(*schemas.Governance); ok {
		if err := c.cfg.Store.Keyring().Check(at, g, s.KeyID); err != nil {
			return []Problem{{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record." + g.Action, Rule: "keyring", Message: err.Error()}}}
		}
		return nil
	}
	oc, ok, err := c.ownerCase(rec, c.cfg.Logs.RecordLog(rec), sanctions.Writer{USCC: schemas.HeaderOf(rec).Submitter, CreditOffice: ki.Anchor})
	if err != nil {
		return []Problem{c.ReadFailed(i, "the record's target", err)}
	}
	if !ok {
		return nil // the reference check reports a missing target
	}
	if err := sanctions.CheckOwner(oc); err != nil {
		var oe *sanctions.OwnerError
		if errors.As(err, &oe) {
			return forbid(oe.Field, err.Error())
		}
		return forbid("record", err.Error())
	}
	if r, ok := rec.(*schemas.Repair); ok && !ki.Anchor {
		l := oc.Target.(*schemas.Listing) // CheckOwner passed: it is a listing
		if prog, known := c.cfg.Sanctions.Engine().Catalogue().Programme(l.Programme.Code); known && prog.Repair.RequiresAuthority != "" {
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
func (c *Checker) ownerCase(rec schemas.Record, origin string, w sanctions.Writer) (oc sanctions.OwnerCase, ok bool, err error) {
	target, ok := sanctions.OwnedTarget(rec)
	if !ok {
		return oc, false, nil
	}
	oc = sanctions.OwnerCase{Record: rec, Origin: origin, By: w, TargetRef: target}
	err = c.cfg.Store.View(func(tx *ledger.ReadTx) error {
		oc.Target = readRecord(tx, target.Origin, target.Index)
		if o, isObj := oc.Target.(*schemas.Objection); isObj {
			if l, isL := readRecord(tx, o.Target.Origin, o.Target.Index).(*schemas.Listing); isL {
				oc.Listing, oc.ListingOrigin = l, o.Target.Origin
			}
		}
		return nil
	})
	return oc, oc.Target != nil, err
}

// CheckEntry is the FSM's last check of an entry appended at index of
// origin. For this region's own ledger its signing key must be valid at
// the index the entry gets: admission checked the key against the ledger
// size it saw, and a revocation committed between admission and apply is
// caught here, so the ledger never holds an entry that every mirror and
// auditor must reject (schemas.Keyring.Lookup at the entry's index; deploy
// TestDrillRevocationRace). The keyring is rebuilt from the ledger in
// order (governance records are applied as they are indexed), so every
// replica answers alike. Entries that are not signed records (the access
// log) are not checked; entries of the loop log get Logs.CheckLoopEntry.
//
// It parses the entry only when it must: the key id is read from the
// envelope's fixed prefix (schemas.EntryKeyID), and the whole envelope is
// parsed only to refuse (an entry that does not parse is not refused here
// but stored and reported by the indexer) or for a governance record. In
// canonical JSON the text "schema":"governance/ can appear only as a
// governance record's schema member, and the envelope's key and sig
// members are hex and base64, so looking for it in the entry is looking
// for it in the record (as checkEntryGovernance does).
func (c *Checker) CheckEntry(origin string, index uint64, e []byte) error {
	if lo := c.cfg.Logs.LoopOrigin(); lo != "" && origin == lo {
		return c.cfg.Logs.CheckLoopEntry(e) // internal/notices
	}
	if origin != c.cfg.Origin {
		return nil
	}
	id, ok := schemas.EntryKeyID(e)
	if !ok {
		return nil // not a signed record: stored and reported by the indexer, as before
	}
	kr := c.cfg.Store.Keyring()
	if err := kr.Valid(id, index); err != nil {
		if _, perr := schemas.ParseSigned(e); perr != nil {
			return nil // as above
		}
		return err
	}
	if !bytes.Contains(e, []byte(`"schema":"governance/`)) {
		return nil
	}
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return nil // as above
	}
	return checkEntryGovernance(kr, index, s)
}

// checkEntryGovernance is the FSM's part of the governance check (called by
// CheckEntry for this region's own ledger): a governance record the
// keyring would refuse at index is refused, so a revocation racing another
// one cannot leave an entry every verifier rejects.
func checkEntryGovernance(kr *schemas.Keyring, index uint64, s *schemas.Signed) error {
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
	if err := kr.Check(index, g, s.KeyID); err != nil {
		return fmt.Errorf("%w: %v", ErrGovernanceRefused, err)
	}
	return nil
}

// ErrGovernanceRefused wraps a keyring refusal found at apply time
// (CheckEntry): the command is refused with 403, nothing is appended.
var ErrGovernanceRefused = errors.New("governance record refused by the keyring")

// EntryRefusedError is an entry the FSM refused at apply time (see
// CheckEntry); nothing of its command was appended.
type EntryRefusedError struct {
	Entry int    // position in the command (and in the submitted batch)
	Index uint64 // the index it would have had
	Err   error  // wraps schemas.ErrRevokedKey or schemas.ErrUnknownKey
}

func (e *EntryRefusedError) Error() string {
	return fmt.Sprintf("entry %d refused at index %d: %v", e.Entry, e.Index, e.Err)
}

func (e *EntryRefusedError) Unwrap() error { return e.Err }

// RefusedAtApply is the client's answer (403) to a command the FSM refused.
func RefusedAtApply(e *EntryRefusedError) *api.ErrorBody {
	return &api.ErrorBody{Status: http.StatusForbidden, Error: "1 problem(s); nothing was written",
		Errors: []api.FieldError{{Record: e.Entry, Field: "key", Rule: "key", Message: fmt.Sprintf("signing key refused at index %d: %v", e.Index, e.Err)}}}
}
