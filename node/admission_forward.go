package node

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/creditx/creditx/internal/access"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// The leader never trusts a replica for content (issue 11 item 4). A
// command forwarded to POST /internal/v1/apply passes, on the leader, the
// same admission as a record submitted directly: a replica certificate alone
// can append nothing a client could not.
//
//   - Only op 1 (append) to this region's own ledger or access log, and the
//     vault ops 6-7 (checked by the vault code), are forwarded by replicas;
//     any other op or origin is refused with 403 (the exchange ops 2-5 are
//     applied by the leader itself).
//   - A record for the ledger is admitted exactly as by admitBatch, with the
//     identity the leader can verify: the owner of the record's signing key
//     (an anchor key is the credit office, role admin; an agency key has the
//     roles and domains of its registration). The client's certificate is
//     not seen by the leader, so the key's registration stands in for it: a
//     publishing key registered without domains cannot list through a
//     follower.
//   - An access-log entry must be an AccessRecord exactly as logAccess
//     writes it (access.Check: strict JSON, re-encoding to the same bytes, a time and a
//     nonce), so the access log always reads back as JSON.
//
// On top of this, the FSM appends op 1 only to the logs this region signs
// (fsm.applyCommand), whatever the leader was sent.

// regionOp says whether op is one of the region's own state commands (the
// vault ops 6-8 and token revocation, op 9): forwarded as they are and
// answered with a regionAnswer (handleApply, propose.go), not with receipts.
func regionOp(op byte) bool {
	return op == opVaultPut || op == opVaultErase || op == opVaultRotate || op == opTokenRevoke
}

// admitForwarded checks a command a replica forwarded; nil admits it.
func (n *Node) admitForwarded(c command) *apiError {
	switch {
	case regionOp(c.op):
		return nil
	case c.op != opAppend:
		return errorf(http.StatusForbidden, "op %d is not forwarded by replicas: only appends to %s or %s and vault commands", c.op, n.origin, n.access)
	case c.origin == n.access:
		for i, e := range c.entries {
			if err := access.Check(e); err != nil {
				return &apiError{Status: http.StatusBadRequest, Error: "1 problem(s); nothing was written",
					Errors: []FieldError{{Record: i, Rule: "access_record", Message: err.Error()}}}
			}
		}
		return nil
	case c.origin == n.loopOrigin() && c.origin != "": // notices.go
		if o, ae := n.submitLog(c.entries); ae != nil || o != c.origin {
			return errorf(http.StatusForbidden, "origin %s: only sanction notices and feedback on them are appended to the loop log", c.origin)
		}
	case c.origin != n.origin:
		return errorf(http.StatusForbidden, "origin %s: a replica may append only to %s or %s", c.origin, n.origin, n.access)
	}
	var errs []FieldError
	status := 0
	for i, e := range c.entries {
		ae := n.admitBatch(n.forwardedIdentity(e), [][]byte{e})
		if ae == nil {
			continue
		}
		for _, fe := range ae.Errors {
			fe.Record = i
			errs = append(errs, fe)
		}
		status = batchStatus(status, ae.Status)
	}
	if len(errs) == 0 {
		return nil
	}
	return &apiError{Status: status, Error: fmt.Sprintf("%d problem(s) in a forwarded command; nothing was written", len(errs)), Errors: errs}
}

// forwardedIdentity is the identity the leader admits a forwarded entry
// under: the registered owner of its signing key. Entries it cannot read
// get an identity with no rights, so admission refuses them with the reason.
func (n *Node) forwardedIdentity(e []byte) pki.Identity {
	id := pki.Identity{Role: pki.RoleReplica, Region: n.cfg.Region, Kind: pki.KindAgency}
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return id
	}
	rec, err := s.Decode()
	if err != nil {
		return id
	}
	kind := rec.Kind()
	for _, r := range []pki.Role{pki.RolePublish, pki.RoleExecute, pki.RoleAdmin} {
		if slices.Contains(kindsByRole[r], kind) {
			id.Role = r // the role that could submit it; the key check then speaks
			break
		}
	}
	var size uint64
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(n.origin)
		size = lr.Size()
		if idx, ok := lr.LeafIndex(tlog.RecordHash(e)); ok {
			size = idx
		}
		return nil
	}); err != nil {
		return id // admitBatch reads the ledger again and answers the failure
	}
	ki, err := n.keyring.Load().Lookup(s.KeyID, size)
	if err != nil {
		return id
	}
	id.ID, id.Name = ki.AgencyUSCC, ki.AgencyName
	switch {
	case ki.Anchor:
		id.Role = pki.RoleAdmin
	default:
		for _, r := range ki.Roles {
			if slices.Contains(kindsByRole[pki.Role(r)], kind) {
				id.Role = pki.Role(r)
				break
			}
		}
		id.Domains = ki.Domains
	}
	return id
}
