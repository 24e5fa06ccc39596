package node

import (
	"encoding/binary"
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
	if id, ok := n.require(w, r, pki.RoleAdmin); ok {
		n.door().ServeRevoke(w, r, id)
	}
}

// handleSubjectRevoked is GET /v1/subject/revoked.
func (n *Node) handleSubjectRevoked(w http.ResponseWriter, r *http.Request) {
	if id, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit); ok {
		n.door().ServeRevoked(w, r, id)
	}
}

// proposeRevoke is the door's Revoke: raft op 9, a region-state command
// (regionOp).
func (n *Node) proposeRevoke(w http.ResponseWriter, r *http.Request, serial, reason string) (isNew, ok bool) {
	p, err := n.propose(r.Context(), command{op: opTokenRevoke, origin: n.origin, serial: serial, reason: reason})
	if n.writeProposeErr(w, err) {
		return false, false
	}
	return p.region.Count == 1, true
}
