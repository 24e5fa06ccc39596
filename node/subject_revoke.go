package node

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/creditx/creditx/internal/selfservice"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/subjecttoken"
)

// Subject-token revocation, replicated (raft op 9): package selfservice
// owns the routes' contract, the bucket and its layout (revoke.go there);
// this file is the command codec, the FSM's apply and the handlers.

// SubjectRevokeRequest is the body of POST /v1/subject/revoke.
type SubjectRevokeRequest = selfservice.RevokeRequest

// SubjectRevocation is one revoked token, as stored and listed.
type SubjectRevocation = selfservice.Revocation

// checkRevoke validates an op 9 command's fields (encode and decode alike).
func checkRevoke(c command) error {
	switch {
	case !subjecttoken.ValidSerial(c.serial):
		return fmt.Errorf("%w: serial %q is not 16 lower-case hex digits", errBadCommand, clip(c.serial))
	case c.reason == "" || len(c.reason) > maxReasonLen || !utf8.ValidString(c.reason):
		return fmt.Errorf("%w: reason must be 1..%d bytes of UTF-8", errBadCommand, maxReasonLen)
	}
	return nil
}

// encodeRevokeCommand encodes op 9 (see the format in command.go).
func encodeRevokeCommand(c command) ([]byte, error) {
	if err := checkRevoke(c); err != nil {
		return nil, err
	}
	b := []byte{commandVersion5, opTokenRevoke}
	for _, f := range []string{c.origin, c.serial, c.reason} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b, nil
}

// applyTokenRevoke is the FSM side of op 9: store the serial with the raft
// time unless it is already revoked. r.Vault is 1 for a new revocation.
func (f *fsm) applyTokenRevoke(tx *ledger.Tx, c command) (*applyResult, error) {
	r := &applyResult{Origin: c.origin}
	b, err := tx.Bucket(selfservice.BucketRevoked)
	if err != nil {
		return nil, err
	}
	if b.Get([]byte(c.serial)) != nil {
		return r, nil
	}
	if err := b.Put([]byte(c.serial), selfservice.EncodeRevocation(f.now, c.reason)); err != nil {
		return nil, err
	}
	r.Vault = 1
	return r, nil
}

// revokedSerial says whether serial is revoked in the replicated bucket.
func (n *Node) revokedSerial(serial string) (bool, error) {
	var revoked bool
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		_, revoked = selfservice.Revoked(tx, serial)
		return nil
	})
	return revoked, err
}

// handleSubjectRevoke is POST /v1/subject/revoke.
func (n *Node) handleSubjectRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "only the credit office of region %s may revoke its subject tokens", n.cfg.Region))
		return
	}
	var req SubjectRevokeRequest
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "malformed revocation; nothing was written",
			Errors: []FieldError{{Rule: "json", Message: err.Error()}}})
		return
	}
	if errs := selfservice.CheckRevokeRequest(&req, maxReasonLen); len(errs) > 0 {
		writeErr(w, &apiError{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs})
		return
	}
	p, err := n.propose(r.Context(), command{op: opTokenRevoke, origin: n.origin, serial: req.Serial, reason: req.Reason}) // a region-state command (regionOp)
	if n.writeProposeErr(w, err) {
		return
	}
	var out SubjectRevocation
	var held bool
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		out, held = selfservice.Revoked(tx, req.Serial)
		return nil
	}); err != nil {
		n.readError(w, "the revocation", err)
		return
	}
	if !held { // applied on the leader, not yet here: answer from the request
		out = SubjectRevocation{Serial: req.Serial, Reason: req.Reason}
	}
	out.New = p.region.Count == 1
	n.logger.Info("subject token revoked", "serial", req.Serial, "by", id.ID, "new", out.New)
	writeJSON(w, http.StatusOK, out)
}

// handleSubjectRevoked is GET /v1/subject/revoked.
func (n *Node) handleSubjectRevoked(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "the revoked subject tokens of region %s are listed to its own credit office and auditors", n.cfg.Region))
		return
	}
	var out []SubjectRevocation
	if err := n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		out, err = selfservice.ListRevoked(tx)
		return err
	}); err != nil {
		n.readError(w, "the revoked subject tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
