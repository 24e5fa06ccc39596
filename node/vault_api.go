package node

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
)

// Wire types of this file's endpoints (package api).
type (
	VaultView          = api.VaultView
	VaultPutRequest    = api.VaultPutRequest
	VaultPutResponse   = api.VaultPutResponse
	VaultEraseResponse = api.VaultEraseResponse
	VaultKeyJSON       = api.VaultKeyJSON
	VaultPerson        = api.VaultPerson
)

// vaultTarget resolves {code}/{index} to an entry of this region's ledger and
// decodes it. It writes the error answer and returns ok=false on failure.
func (n *Node) vaultTarget(w http.ResponseWriter, r *http.Request) (index uint64, submitter string, persons map[string]schemas.Person, ve vault.Entry, ok bool) {
	if r.PathValue("code") != n.cfg.Region {
		writeErr(w, errorf(http.StatusNotFound, "the vault of this node holds keys of region %s's ledger only", n.cfg.Region))
		return
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "index %q is not a number", r.PathValue("index")))
		return
	}
	var raw []byte
	var rec schemas.Record
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		e, err := tx.Log(n.origin).Entry(index)
		if err != nil {
			return err
		}
		s, err := schemas.ParseSigned(e)
		if err != nil {
			return err
		}
		if rec, err = s.Decode(); err != nil {
			return err
		}
		raw = s.Record
		ve = readVault(tx, n.origin, index)
		return nil
	})
	if err != nil {
		writeErr(w, errorf(http.StatusNotFound, "record %s/%d: %v", n.origin, index, err))
		return
	}
	var h struct {
		Submitter string `json:"submitter"`
	}
	json.Unmarshal(raw, &h)
	return index, h.Submitter, vault.SealedPersons(rec), ve, true
}

func (n *Node) vaultDisabled(w http.ResponseWriter) bool {
	if n.vault == nil {
		writeErr(w, errorf(http.StatusServiceUnavailable, "the data-key vault is disabled on this replica: no vault key at %s", n.cfg.VaultKey))
		return true
	}
	return false
}

// handleVaultPut stores the data keys of a record's sealed persons: only the
// agency that submitted the record, and only keys that open them.
func (n *Node) handleVaultPut(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RolePublish)
	if !ok || n.vaultDisabled(w) {
		return
	}
	index, submitter, persons, ve, ok := n.vaultTarget(w, r)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region || id.ID != submitter {
		writeErr(w, errorf(http.StatusForbidden, "only the submitter of %s/%d (%s) may store its data keys", n.origin, index, submitter))
		return
	}
	if ve.Erased {
		writeErr(w, errorf(http.StatusGone, "the personal data of %s/%d was erased; no key may be stored for it", n.origin, index))
		return
	}
	var req VaultPutRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "body: want {\"keys\":[{\"person\":\"<path>\",\"key\":\"<base64>\"}]}: %v", err))
		return
	}
	if len(req.Keys) == 0 || len(req.Keys) > maxVaultKeys {
		writeErr(w, errorf(http.StatusBadRequest, "keys: give 1 to %d keys, got %d", maxVaultKeys, len(req.Keys)))
		return
	}
	var errs []FieldError
	bad := func(i int, field, rule, format string, args ...any) {
		errs = append(errs, FieldError{Field: fmt.Sprintf("keys[%d].%s", i, field), Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	c := command{op: opVaultPut, origin: n.origin, index: index}
	seen := map[string]bool{}
	for i, k := range req.Keys {
		p, ok := persons[k.Person]
		switch {
		case !ok:
			bad(i, "person", "sealed_person", "%q does not name a sealed person of %s/%d (it has: %s)", k.Person, n.origin, index, strings.Join(slices.Sorted(maps.Keys(persons)), ", "))
			continue
		case seen[k.Person]:
			bad(i, "person", "unique", "%q is given twice", k.Person)
			continue
		}
		seen[k.Person] = true
		raw, err := base64.StdEncoding.DecodeString(k.Key)
		var dk schemas.DataKey
		if err != nil || len(raw) != len(dk) {
			bad(i, "key", "data_key", "want the std base64 of a %d-byte data key", len(dk))
			continue
		}
		copy(dk[:], raw)
		if _, _, err := schemas.OpenPerson(p, dk); err != nil {
			bad(i, "key", "opens", "the key does not open %s: %v", k.Person, err)
			continue
		}
		c.keys = append(c.keys, vaultItem{path: k.Person, wrapped: n.vault.State().Wrap(n.origin, index, k.Person, dk)})
	}
	if len(errs) > 0 {
		writeErr(w, &apiError{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was stored", len(errs)), Errors: errs})
		return
	}
	// Once raft commits the command, the keys are stored on every replica
	// (also if this process dies before answering: the client's retry with
	// the same keys is then answered 200 with stored 0). A command that
	// cannot be encoded is answered 400 (propose).
	p, err := n.propose(r.Context(), c)
	if n.writeProposeErr(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, VaultPutResponse{Origin: n.origin, Index: index, Stored: p.region.Count})
}

// handleVaultGet opens a record's sealed persons for its submitter or this
// region's credit office, after logging the read with its purpose.
func (n *Node) handleVaultGet(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RolePublish, pki.RoleAdmin)
	if !ok || n.vaultDisabled(w) {
		return
	}
	index, submitter, persons, ve, ok := n.vaultTarget(w, r)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region || (id.Role == pki.RolePublish && id.ID != submitter) {
		writeErr(w, errorf(http.StatusForbidden, "only the submitter of %s/%d and the credit office of region %s may read its personal plaintext", n.origin, index, n.cfg.Region))
		return
	}
	if perr := checkPurpose(r.URL.Query().Get("purpose"), "reading personal data"); perr != nil {
		writeErr(w, perr)
		return
	}
	if ve.Erased {
		writeErr(w, errorf(http.StatusNotFound, "erased: the data keys of %s/%d were destroyed by a legal erasure", n.origin, index))
		return
	}
	if len(ve.Wrapped) == 0 {
		writeErr(w, errorf(http.StatusNotFound, "no data key is stored for %s/%d", n.origin, index))
		return
	}
	v := VaultView{Origin: n.origin, Index: index, Persons: []VaultPerson{}}
	var hashes []string
	for _, path := range slices.Sorted(maps.Keys(ve.Wrapped)) {
		p, ok := persons[path]
		if !ok {
			continue // cannot happen: PUT checks the path against the same record
		}
		dk, err := n.vault.State().Unwrap(n.origin, index, path, ve.Wrapped[path])
		if err != nil {
			writeErr(w, errorf(http.StatusInternalServerError, "%s: %v", path, err))
			return
		}
		pid, name, err := schemas.OpenPerson(p, dk)
		if err != nil {
			writeErr(w, errorf(http.StatusInternalServerError, "%s: %v", path, err))
			return
		}
		v.Persons = append(v.Persons, VaultPerson{Path: path, IDHash: p.IDHash, ID: pid, Name: name})
		hashes = append(hashes, p.IDHash)
	}
	// Durable in the access log before a byte of plaintext is sent.
	what := fmt.Sprintf("vault open record %s/%d naming persons %s", n.origin, index, strings.Join(slices.Compact(slices.Sorted(slices.Values(hashes))), ","))
	if !n.logAccessOrFail(w, r, id, what) {
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleVaultErase is a legal erasure: the credit office destroys a record's
// data keys. The request is logged first; the erase op is idempotent, so a
// retry after any failure completes it.
func (n *Node) handleVaultErase(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "only the credit office of region %s may erase its personal data", n.cfg.Region))
		return
	}
	reason, err := parseEraseReason(r.URL.Query().Get("reason"))
	if err != nil {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: err.Error(),
			Errors: []FieldError{{Record: -1, Field: "reason", Rule: "erase_reason", Message: err.Error()}}})
		return
	}
	// The erasure needs no vault key: it works on a replica where the vault
	// is disabled too.
	index, _, _, _, ok := n.vaultTarget(w, r)
	if !ok {
		return
	}
	if err := n.logAccess(r.Context(), id, fmt.Sprintf("vault erase record %s/%d reason %q", n.origin, index, reason), "legal_erasure"); err != nil {
		writeErr(w, errorf(http.StatusServiceUnavailable, "the erasure could not be recorded, so it was not done; retry: %v", err))
		return
	}
	// If the process dies here, the access log shows a requested erasure
	// that did not happen; the admin's retry (idempotent) completes it.
	p, err := n.propose(r.Context(), command{op: opVaultErase, origin: n.origin, index: index})
	if n.writeProposeErr(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, VaultEraseResponse{Origin: n.origin, Index: index, Destroyed: p.region.Count})
}

// writeProposeErr writes the answer for an error of propose of a
// region-state command (the FSM's refusal, or 503: not committed, safe to
// retry); false if err is nil.
func (n *Node) writeProposeErr(w http.ResponseWriter, err error) bool {
	if err == nil {
		return false
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		writeErr(w, refused.ae)
		return true
	}
	n.logger.Error("command not committed", "err", err)
	writeErr(w, errorf(http.StatusServiceUnavailable, "not committed, safe to retry: %v", err))
	return true
}

// vaultRefusal maps a vault command the FSM refused to its API answer.
func vaultRefusal(err error) error {
	var conflict *VaultConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &conflict):
		return &refusedError{&apiError{Status: http.StatusConflict, Error: err.Error() + "; nothing was stored",
			Errors: []FieldError{{Field: conflict.Path, Rule: "same_key", Message: "a stored key is never replaced"}}}}
	case errors.Is(err, vault.ErrErased):
		return &refusedError{errorf(http.StatusGone, "%v", err)}
	case errors.Is(err, vault.ErrEpoch):
		return &refusedError{errorf(http.StatusServiceUnavailable, "%v", err)}
	case errors.Is(err, vault.ErrNoEntry):
		return &refusedError{errorf(http.StatusNotFound, "%v", err)}
	}
	return err
}
