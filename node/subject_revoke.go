package node

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/subjecttoken"
)

// Subject-token revocation, replicated (raft op 9).
//
//	POST /v1/subject/revoke   {"serial": "16 hex digits", "reason": "..."}   (role admin of this region)
//	-> 200 {"serial", "reason", "revoked_at", "new": true|false}
//	GET  /v1/subject/revoked  (role admin or auditor of this region)
//	-> 200 [{"serial", "reason", "revoked_at"}, ...] in serial order
//
// A revocation is a raft command: it is answered only once a quorum of the
// region's replicas holds it in their raft logs and the leader's FSM has
// stored it in ledger.db (bucket subject_revoked, serial -> 8-byte
// big-endian raft time in Unix nanoseconds || reason). Every replica then
// refuses the token (401 "subject token revoked"), whichever replica the
// subject's browser reaches, and a replica that was down applies the
// command when it catches up, before it serves again. Revoking a serial
// twice is not an error: the first revocation stands ("new": false).
//
// Crash table: the process dies before raft commits -> no replica holds the
// revocation, the caller got no answer and retries; after the commit,
// before the answer -> every replica applies it, the retry answers
// "new": false.
//
// The per-replica file keys/subject-revoked.txt (SubjectRevokedFile,
// `creditx subject revoke --data`) is still read as well: an office whose
// cluster has lost its quorum can still stop a token on the replicas it
// can reach.

// bucketSubjectRevoked holds the replicated revocations. Changing it breaks
// existing data directories.
const bucketSubjectRevoked = "subject_revoked"

// SubjectRevokeRequest is the body of POST /v1/subject/revoke.
type SubjectRevokeRequest struct {
	Serial string `json:"serial"`
	Reason string `json:"reason"`
}

// SubjectRevocation is one revoked token, as stored and listed.
type SubjectRevocation struct {
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"` // raft time of the command
	New       bool      `json:"new,omitempty"`
}

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
	b, err := tx.Bucket(bucketSubjectRevoked)
	if err != nil {
		return nil, err
	}
	if b.Get([]byte(c.serial)) != nil {
		return r, nil
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(f.now.UnixNano()))
	if err := b.Put([]byte(c.serial), append(v, c.reason...)); err != nil {
		return nil, err
	}
	r.Vault = 1
	return r, nil
}

func decodeRevocation(k, v []byte) SubjectRevocation {
	r := SubjectRevocation{Serial: string(k)}
	if len(v) >= 8 {
		r.RevokedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC()
		r.Reason = string(v[8:])
	}
	return r
}

// revokedSerial says whether serial is revoked in the replicated bucket.
func (n *Node) revokedSerial(serial string) (bool, error) {
	var revoked bool
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketSubjectRevoked); b != nil {
			revoked = b.Get([]byte(serial)) != nil
		}
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
	req.Reason = strings.TrimSpace(req.Reason)
	var errs []FieldError
	if !subjecttoken.ValidSerial(req.Serial) {
		errs = append(errs, FieldError{Field: "serial", Rule: "hex16", Message: fmt.Sprintf("%q is not a token serial (16 lower-case hex digits, shown by creditx subject issue)", clip(req.Serial))})
	}
	if req.Reason == "" || len(req.Reason) > maxReasonLen || !utf8.ValidString(req.Reason) {
		errs = append(errs, FieldError{Field: "reason", Rule: "required", Message: fmt.Sprintf("say why the token is revoked (1..%d bytes)", maxReasonLen)})
	}
	if len(errs) > 0 {
		writeErr(w, &apiError{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs})
		return
	}
	p, err := n.propose(r.Context(), command{op: opTokenRevoke, origin: n.origin, serial: req.Serial, reason: req.Reason}) // a region-state command (regionOp)
	if n.writeProposeErr(w, err) {
		return
	}
	var out SubjectRevocation
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketSubjectRevoked); b != nil {
			if v := b.Get([]byte(req.Serial)); v != nil {
				out = decodeRevocation([]byte(req.Serial), v)
			}
		}
		return nil
	}); err != nil {
		n.readError(w, "the revocation", err)
		return
	}
	if out.Serial == "" { // applied on the leader, not yet here: answer from the request
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
	out := []SubjectRevocation{}
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(bucketSubjectRevoked)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out = append(out, decodeRevocation(k, v))
			return nil
		})
	}); err != nil {
		n.readError(w, "the revoked subject tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
