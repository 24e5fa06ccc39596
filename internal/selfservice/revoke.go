package selfservice

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/subjecttoken"
)

// Subject-token revocation, replicated (raft op 9 of package node).
//
//	POST /v1/subject/revoke   {"serial": "16 hex digits", "reason": "..."}   (role admin of this region)
//	-> 200 {"serial", "reason", "revoked_at", "new": true|false}
//	GET  /v1/subject/revoked  (role admin or auditor of this region)
//	-> 200 [{"serial", "reason", "revoked_at"}, ...] in serial order
//
// A revocation is a raft command: it is answered only once a quorum of the
// region's replicas holds it in their raft logs and the leader's FSM has
// stored it in ledger.db (BucketRevoked). Every replica then refuses the
// token (401 "subject token revoked"), whichever replica the subject's
// browser reaches, and a replica that was down applies the command when it
// catches up, before it serves again. Revoking a serial twice is not an
// error: the first revocation stands ("new": false).
//
// Crash table: the process dies before raft commits -> no replica holds the
// revocation, the caller got no answer and retries; after the commit,
// before the answer -> every replica applies it, the retry answers
// "new": false.
//
// The per-replica file keys/subject-revoked.txt (subjecttoken.RevokedFile,
// `creditx subject revoke --data`) is still read as well ([Door.Token]): an
// office whose cluster has lost its quorum can still stop a token on the
// replicas it can reach.

// BucketRevoked holds the replicated revocations:
//
//	serial (16 lower-case hex digits) -> uint64 BE raft time in Unix nanoseconds || reason (UTF-8)
//
// Changing the name or the layout breaks existing data directories.
const BucketRevoked = "subject_revoked"

// RevokeRequest is the body of POST /v1/subject/revoke.
type RevokeRequest struct {
	Serial string `json:"serial"`
	Reason string `json:"reason"`
}

// Revocation is one revoked token, as stored and listed.
type Revocation struct {
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"` // raft time of the command
	New       bool      `json:"new,omitempty"`
}

// EncodeRevocation is the value stored for a revocation at raft time at.
func EncodeRevocation(at time.Time, reason string) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return append(v, reason...)
}

// DecodeRevocation is the revocation stored under k with value v; a value
// shorter than 8 bytes gives a zero time and no reason.
func DecodeRevocation(k, v []byte) Revocation {
	r := Revocation{Serial: string(k)}
	if len(v) >= 8 {
		r.RevokedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC()
		r.Reason = string(v[8:])
	}
	return r
}

// CheckRevokeRequest trims req's reason and lists what is wrong with it: a
// serial that is not 16 lower-case hex digits, a reason that is empty,
// longer than maxReason bytes or not UTF-8.
func CheckRevokeRequest(req *RevokeRequest, maxReason int) []api.FieldError {
	req.Reason = strings.TrimSpace(req.Reason)
	var errs []api.FieldError
	if !subjecttoken.ValidSerial(req.Serial) {
		errs = append(errs, api.FieldError{Field: "serial", Rule: "hex16", Message: fmt.Sprintf("%q is not a token serial (16 lower-case hex digits, shown by creditx subject issue)", httpx.Clip(req.Serial))})
	}
	if req.Reason == "" || len(req.Reason) > maxReason || !utf8.ValidString(req.Reason) {
		errs = append(errs, api.FieldError{Field: "reason", Rule: "required", Message: fmt.Sprintf("say why the token is revoked (1..%d bytes)", maxReason)})
	}
	return errs
}

// Revoked reads serial's revocation in tx; ok is false if it is not revoked.
func Revoked(tx *ledger.ReadTx, serial string) (r Revocation, ok bool) {
	if b := tx.Bucket(BucketRevoked); b != nil {
		if v := b.Get([]byte(serial)); v != nil {
			return DecodeRevocation([]byte(serial), v), true
		}
	}
	return Revocation{}, false
}

// ListRevoked lists the revocations in tx in serial order.
func ListRevoked(tx *ledger.ReadTx) ([]Revocation, error) {
	out := []Revocation{}
	b := tx.Bucket(BucketRevoked)
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		out = append(out, DecodeRevocation(k, v))
		return nil
	})
	return out, err
}

// ServeRevoke is POST /v1/subject/revoke by id, whose role (admin) the node
// has checked: only the credit office of this region may revoke.
func (d *Door) ServeRevoke(w http.ResponseWriter, r *http.Request, id pki.Identity) {
	if id.Region != d.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only the credit office of region %s may revoke its subject tokens", d.Region))
		return
	}
	var req RevokeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusBadRequest, Error: "malformed revocation; nothing was written",
			Errors: []api.FieldError{{Rule: "json", Message: err.Error()}}})
		return
	}
	if errs := CheckRevokeRequest(&req, d.MaxReason); len(errs) > 0 {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs})
		return
	}
	isNew, ok := d.Revoke(w, r, req.Serial, req.Reason)
	if !ok {
		return
	}
	var out Revocation
	var held bool
	if err := d.Ledger.View(func(tx *ledger.ReadTx) error {
		out, held = Revoked(tx, req.Serial)
		return nil
	}); err != nil {
		httpx.WriteErr(w, d.ReadError("the revocation", err))
		return
	}
	if !held { // applied on the leader, not yet here: answer from the request
		out = Revocation{Serial: req.Serial, Reason: req.Reason}
	}
	out.New = isNew
	d.Logger.Info("subject token revoked", "serial", req.Serial, "by", id.ID, "new", out.New)
	httpx.WriteJSON(w, http.StatusOK, out)
}

// ServeRevoked is GET /v1/subject/revoked by id, whose role (admin or
// auditor) the node has checked: only this region's may list.
func (d *Door) ServeRevoked(w http.ResponseWriter, r *http.Request, id pki.Identity) {
	if id.Region != d.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "the revoked subject tokens of region %s are listed to its own credit office and auditors", d.Region))
		return
	}
	var out []Revocation
	if err := d.Ledger.View(func(tx *ledger.ReadTx) (err error) {
		out, err = ListRevoked(tx)
		return err
	}); err != nil {
		httpx.WriteErr(w, d.ReadError("the revoked subject tokens", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
