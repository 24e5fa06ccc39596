package node

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// kindsByRole is which record kinds each role may submit. Sanction notices
// are issued by the credit office (admin) on behalf of the region.
var kindsByRole = map[pki.Role][]string{
	pki.RolePublish: {"listing", "correction", "repair", "objection_decision"},
	pki.RoleExecute: {"feedback"},
	pki.RoleAdmin:   {"governance", "objection", "sanction_notice", "correction", "objection_decision", "repair"},
}

// admitBatch checks every record of a submission; the batch is admitted only
// if all pass (a rejected batch writes nothing). The checks, in order:
// envelope and canonical form, record schema, the caller's role may submit
// this kind, the signing key is registered, not revoked and belongs to the
// caller, the signature, the record's region and submitter, the caller's
// domains, field validation, and that every reference points at an existing
// entry with the stated hash. The most specific status wins: 400 malformed,
// 413 too large, 403 not allowed, 422 invalid content.
func (n *Node) admitBatch(id pki.Identity, entries [][]byte) *apiError {
	kr := n.keyring.Load()
	var size uint64
	// A record already in the ledger is checked against the keyring at the
	// index it has: a replay answers with its original receipt even if its
	// key was revoked since (the FSM skips it by leaf hash), while every other
	// check (role, key owner, submitter, ...) still applies to the caller.
	at := make([]uint64, len(entries))
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(n.origin)
		size = lr.Size()
		for i, e := range entries {
			at[i] = size
			if len(e) <= ledger.MaxEntrySize {
				if idx, ok := lr.LeafIndex(tlog.RecordHash(e)); ok {
					at[i] = idx
				}
			}
		}
		return nil
	}); err != nil {
		fe := n.readFailed(0, "the ledger's size", err)
		return &apiError{Status: fe.status, Error: fe.Message, Errors: []FieldError{fe.FieldError}}
	}
	var errs []FieldError
	status := 0
	for _, fes := range n.admitParallel(id, kr, at, entries) { // admission_parallel.go
		for _, fe := range fes {
			errs = append(errs, fe.FieldError)
			status = batchStatus(status, fe.status)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &apiError{Status: status, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs}
}

// batchStatus is the status of a refused batch so far (0: none yet) after a
// problem with status st: the lowest-numbered 4xx that is not 422, else 422.
func batchStatus(status, st int) int {
	if status == 0 || (st != http.StatusUnprocessableEntity && (status == http.StatusUnprocessableEntity || st < status)) {
		return st
	}
	return status
}

type statusFieldError struct {
	status int
	FieldError
}

func (n *Node) admit(id pki.Identity, kr *schemas.Keyring, at uint64, i int, e []byte) []statusFieldError {
	one := func(status int, field, rule, msg string) []statusFieldError {
		return []statusFieldError{{status, FieldError{Record: i, Field: field, Rule: rule, Message: msg}}}
	}
	if len(e) > ledger.MaxEntrySize {
		return one(http.StatusRequestEntityTooLarge, "", "size", fmt.Sprintf("record is %d bytes, the limit is %d", len(e), ledger.MaxEntrySize))
	}
	s, rec, err := schemas.ParseDecode(e) // ParseSigned, then Decode, in one pass where it can
	if s == nil {
		return one(http.StatusBadRequest, "", "envelope", err.Error())
	}
	if err != nil {
		var de *schemas.DecodeError
		field := "record"
		if errors.As(err, &de) {
			field = "record." + de.Field
		}
		rule := "decode"
		if errors.Is(err, schemas.ErrUnknownSchema) {
			rule = "schema"
			return one(http.StatusUnprocessableEntity, "record.schema", rule, err.Error())
		}
		return one(http.StatusBadRequest, field, rule, err.Error())
	}
	kind := rec.Kind()
	if !slices.Contains(kindsByRole[id.Role], kind) {
		return one(http.StatusForbidden, "record.schema", "role", fmt.Sprintf("role %q may not submit %s records", id.Role, kind))
	}
	ki, err := kr.Lookup(s.KeyID, at)
	if err != nil {
		return one(http.StatusForbidden, "key", "key", fmt.Sprintf("signing key %s: %v", s.KeyID, err))
	}
	if ki.AgencyUSCC != id.ID {
		return one(http.StatusForbidden, "key", "key_owner", fmt.Sprintf("signing key %s belongs to %s, not to the certificate's agency %s", s.KeyID, ki.AgencyUSCC, id.ID))
	}
	if kind == "governance" && !ki.Anchor {
		return one(http.StatusForbidden, "key", "anchor", "governance records must be signed with a credit-office anchor key")
	}
	if err := kr.VerifyKey(s, ki.Public); err != nil { // s.Verify with the key's point decoded once per keyring
		return one(http.StatusForbidden, "sig", "signature", err.Error())
	}
	var out []statusFieldError
	h := schemas.HeaderOf(rec)
	if h.Region != n.cfg.Region {
		out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record.region", Rule: "region", Message: fmt.Sprintf("record is for region %s; this is the node of %s", h.Region, n.cfg.Region)}})
	}
	if h.Submitter != id.ID {
		out = append(out, statusFieldError{http.StatusForbidden, FieldError{Record: i, Field: "record.submitter", Rule: "submitter", Message: fmt.Sprintf("submitter %s is not the certificate's agency %s", h.Submitter, id.ID)}})
	}
	if l, ok := rec.(*schemas.Listing); ok && id.Role == pki.RolePublish {
		if !slices.Contains(id.Domains, l.Domain) || (len(ki.Domains) > 0 && !slices.Contains(ki.Domains, l.Domain)) {
			out = append(out, statusFieldError{http.StatusForbidden, FieldError{Record: i, Field: "record.domain", Rule: "domain_scope", Message: fmt.Sprintf("agency %s may not list in domain %q (its domains: %v)", id.ID, l.Domain, id.Domains)}})
		}
	}
	if err := n.validate.Validate(rec); err != nil {
		var ves schemas.ValidationErrors
		if errors.As(err, &ves) {
			for _, fe := range ves {
				out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record." + fe.Field, Rule: fe.Rule, Message: fe.Message}})
			}
		} else {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record", Rule: "validate", Message: err.Error()}})
		}
	}
	// Personal data where it does not belong (issue 14): admission only, so
	// mirrored and audited entries verify with Validate alone.
	for _, fe := range schemas.CheckPlaintext(rec) {
		out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record." + fe.Field, Rule: fe.Rule, Message: fe.Message}})
	}
	out = append(out, n.admitLoop(i, rec, id)...) // admission_loop.go (issue 12)
	for _, ref := range index.RecordRefs(rec) {
		if msg, err := n.checkRef(ref); err != nil {
			out = append(out, n.readFailed(i, fmt.Sprintf("reference %s/%d", ref.Origin, ref.Index), err))
		} else if msg != "" {
			out = append(out, statusFieldError{http.StatusUnprocessableEntity, FieldError{Record: i, Field: "record.ref", Rule: "reference", Message: msg}})
		}
	}
	if len(out) == 0 {
		out = n.admitOwner(id, ki, at, i, s, rec) // admission_owner.go
	}
	if len(out) == 0 && n.index != nil {
		n.index.Admitted(e, s, rec) // the FSM takes this parse instead of parsing again (package index)
	}
	return out
}

// checkRef reports why ref does not point at an existing entry, or "". An
// error is a failed read of the ledger, which says nothing about ref.
func (n *Node) checkRef(ref schemas.Ref) (string, error) {
	msg := ""
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(ref.Origin)
		if ref.Index >= lr.Size() {
			msg = fmt.Sprintf("%s has no entry %d (size %d)", ref.Origin, ref.Index, lr.Size())
			return nil
		}
		e, err := lr.Entry(ref.Index)
		if err != nil {
			return err
		}
		h := tlog.RecordHash(e)
		if fmt.Sprintf("%x", h[:]) != ref.Hash {
			msg = fmt.Sprintf("%s entry %d has hash %x, not %s", ref.Origin, ref.Index, h[:], ref.Hash)
		}
		return nil
	})
	return msg, err
}

// checkEntryKey is the FSM's last check of an entry of the region's own
// ledger (fsmHost.CheckEntry): its signing key must be valid at the index the
// entry gets. Admission checked the key against the ledger size it saw; a
// revocation committed between admission and apply is caught here, so the
// ledger never holds an entry that every mirror and auditor must reject
// (schemas.Keyring.Lookup at the entry's index; deploy
// TestDrillRevocationRace). The keyring is rebuilt from the ledger in order
// (governance records are applied as they are indexed), so every replica
// answers alike. Entries that are not signed records (the access log) are
// not checked.
//
// It parses the entry only when it must: the key id is read from the
// envelope's fixed prefix (schemas.EntryKeyID), and the whole envelope is
// parsed only to refuse (an entry that does not parse is not refused here
// but stored and reported by the indexer) or for a governance record. In
// canonical JSON the text "schema":"governance/ can appear only as a
// governance record's schema member, and the envelope's key and sig
// members are hex and base64, so looking for it in the entry is looking
// for it in the record (as checkEntryGovernance does).
func (n *Node) checkEntryKey(origin string, index uint64, e []byte) error {
	if lo := n.loopOrigin(); lo != "" && origin == lo {
		return n.checkLoopEntry(e) // internal/notices
	}
	if origin != n.origin {
		return nil
	}
	id, ok := schemas.EntryKeyID(e)
	if !ok {
		return nil // not a signed record: stored and reported by the indexer, as before
	}
	if err := n.keyring.Load().Valid(id, index); err != nil {
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
	return n.checkEntryGovernance(index, s) // admission_owner.go
}

// entryRefusedError is an entry the FSM refused at apply time (see
// checkEntryKey); nothing of its command was appended.
type entryRefusedError struct {
	Entry int    // position in the command (and in the submitted batch)
	Index uint64 // the index it would have had
	Err   error  // wraps schemas.ErrRevokedKey or schemas.ErrUnknownKey
}

func (e *entryRefusedError) Error() string {
	return fmt.Sprintf("entry %d refused at index %d: %v", e.Entry, e.Index, e.Err)
}

func (e *entryRefusedError) Unwrap() error { return e.Err }

// refusedError is a submission refused after admission, by the FSM of this
// replica or of the leader it forwarded to: an answer for the client
// (403), not a failure to commit, so it is not retried.
type refusedError struct {
	ae *apiError
}

func (e *refusedError) Error() string { return e.ae.Error }

func refusedAtApply(e *entryRefusedError) *refusedError {
	return &refusedError{&apiError{Status: http.StatusForbidden, Error: "1 problem(s); nothing was written",
		Errors: []FieldError{{Record: e.Entry, Field: "key", Rule: "key", Message: fmt.Sprintf("signing key refused at index %d: %v", e.Index, e.Err)}}}}
}
