package admission

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
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
//   - A record for the ledger is admitted exactly as by Batch, with the
//     identity the leader can verify: the owner of the record's signing key
//     (an anchor key is the credit office, role admin; an agency key has the
//     roles and domains of its registration). The client's certificate is
//     not seen by the leader, so the key's registration stands in for it: a
//     publishing key registered without domains cannot list through a
//     follower.
//   - An access-log entry must be an access record exactly as the node
//     writes it (Config.CheckAccess, access.Check: strict JSON, re-encoding
//     to the same bytes, a time and a nonce), so the access log always
//     reads back as JSON.
//
// On top of this, the FSM appends op 1 only to the logs this region signs
// (node fsm.applyCommand), whatever the leader was sent.

// Forwarded checks a command a replica forwarded (raft op op; regionOp
// says it is one of the region's own state commands, forwarded as they
// are; appendOp that it appends entries to origin); nil admits it.
func (c *Checker) Forwarded(op byte, regionOp, appendOp bool, origin string, entries [][]byte) *api.ErrorBody {
	switch {
	case regionOp:
		return nil
	case !appendOp:
		return httpx.Errorf(http.StatusForbidden, "op %d is not forwarded by replicas: only appends to %s or %s and vault commands", op, c.cfg.Origin, c.cfg.Access)
	case origin == c.cfg.Access:
		for i, e := range entries {
			if err := c.cfg.CheckAccess(e); err != nil {
				return &api.ErrorBody{Status: http.StatusBadRequest, Error: "1 problem(s); nothing was written",
					Errors: []api.FieldError{{Record: i, Rule: "access_record", Message: err.Error()}}}
			}
		}
		return nil
	case origin == c.cfg.Logs.LoopOrigin() && origin != "": // internal/notices
		if o, ae := c.cfg.Logs.SubmitLog(entries); ae != nil || o != origin {
			return httpx.Errorf(http.StatusForbidden, "origin %s: only sanction notices and feedback on them are appended to the loop log", origin)
		}
	case origin != c.cfg.Origin:
		return httpx.Errorf(http.StatusForbidden, "origin %s: a replica may append only to %s or %s", origin, c.cfg.Origin, c.cfg.Access)
	}
	var errs []api.FieldError
	status := 0
	for i, e := range entries {
		ae := c.Batch(c.forwardedIdentity(e), [][]byte{e})
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
	return &api.ErrorBody{Status: status, Error: fmt.Sprintf("%d problem(s) in a forwarded command; nothing was written", len(errs)), Errors: errs}
}

// forwardedIdentity is the identity the leader admits a forwarded entry
// under: the registered owner of its signing key. Entries it cannot read
// get an identity with no rights, so admission refuses them with the reason.
func (c *Checker) forwardedIdentity(e []byte) pki.Identity {
	id := pki.Identity{Role: pki.RoleReplica, Region: c.cfg.Region, Kind: pki.KindAgency}
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
		if slices.Contains(KindsByRole[r], kind) {
			id.Role = r // the role that could submit it; the key check then speaks
			break
		}
	}
	var size uint64
	if err := c.cfg.Store.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(c.cfg.Origin)
		size = lr.Size()
		if idx, ok := lr.LeafIndex(tlog.RecordHash(e)); ok {
			size = idx
		}
		return nil
	}); err != nil {
		return id // Batch reads the ledger again and answers the failure
	}
	ki, err := c.cfg.Store.Keyring().Lookup(s.KeyID, size)
	if err != nil {
		return id
	}
	id.ID, id.Name = ki.AgencyUSCC, ki.AgencyName
	switch {
	case ki.Anchor:
		id.Role = pki.RoleAdmin
	default:
		for _, r := range ki.Roles {
			if slices.Contains(KindsByRole[pki.Role(r)], kind) {
				id.Role = pki.Role(r)
				break
			}
		}
		id.Domains = ki.Domains
	}
	return id
}
