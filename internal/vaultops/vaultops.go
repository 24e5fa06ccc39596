package vaultops

import (
	"context"
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
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/vault"
)

// Kind names the raft op a proposal asks for.
type Kind int

const (
	Put    Kind = iota + 1 // vault-put: store Keys for entry Index of the own ledger
	Erase                  // vault-erase: destroy the keys of entry Index
	Rotate                 // vault-rotate: ratchet the key once from epoch Index
)

// Op is one vault command for raft.
type Op struct {
	Kind  Kind
	Index uint64       // Put, Erase: the entry of the own ledger; Rotate: the epoch rotated from
	Keys  []vault.Item // Put: wrapped under the current epoch
}

// Result is the FSM's answer to a committed Op.
type Result struct {
	Count int    // Put: keys stored; Erase: keys destroyed; Rotate: keys re-wrapped
	Epoch uint64 // Rotate: the epoch now stored
}

// Node is what the vault endpoints need of the region replica.
type Node interface {
	// Require answers 401/403 and returns false unless the caller has one
	// of roles.
	Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool)
	// View runs fn in a read transaction of this replica's ledger.db (the
	// state applied here, which may trail the leader's).
	View(fn func(tx *ledger.ReadTx) error) error
	// LogAccess appends an entry to the access log; nil once raft has
	// committed it (durable on a quorum).
	LogAccess(ctx context.Context, id pki.Identity, what, purpose string) error
	// Propose commits op through raft and returns the FSM's answer once it
	// is applied here; on failure, the answer to give: the FSM's refusal
	// (see Refusal), or 503 when not committed (safe to retry).
	Propose(ctx context.Context, op Op) (Result, *api.ErrorBody)
}

// Config holds what the handlers read of the node's configuration.
type Config struct {
	Region   string      // the region's code
	Origin   string      // the origin line of the region's ledger
	VaultKey string      // path of the vault key file, for the "disabled" answer
	Ring     *vault.Ring // nil: the vault is disabled on this replica
	MaxKeys  int         // the most keys one PUT may store (the raft command's limit)
	// CheckPurpose answers nil for a purpose code of the access-log
	// catalogue, else the 400 to give.
	CheckPurpose func(purpose, why string) *api.ErrorBody
	// ReadError is the public answer for a failed ledger.db read of what.
	ReadError func(what string, err error) *api.ErrorBody
}

// Handlers serves the vault endpoints.
type Handlers struct {
	cfg Config
	n   Node
}

// New returns the handlers over n.
func New(cfg Config, n Node) *Handlers { return &Handlers{cfg: cfg, n: n} }

// target resolves {code}/{index} to an entry of this region's ledger and
// decodes it. It writes the error answer and returns ok=false on failure.
func (h *Handlers) target(w http.ResponseWriter, r *http.Request) (index uint64, submitter string, persons map[string]schemas.Person, ve vault.Entry, ok bool) {
	origin := h.cfg.Origin
	if r.PathValue("code") != h.cfg.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "the vault of this node holds keys of region %s's ledger only", h.cfg.Region))
		return
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusBadRequest, "index %q is not a number", r.PathValue("index")))
		return
	}
	var raw []byte
	var rec schemas.Record
	err = h.n.View(func(tx *ledger.ReadTx) error {
		e, err := tx.Log(origin).Entry(index)
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
		ve = vault.Read(tx.Bucket(vault.Bucket), origin, index)
		return nil
	})
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "record %s/%d: %v", origin, index, err))
		return
	}
	var hd struct {
		Submitter string `json:"submitter"`
	}
	json.Unmarshal(raw, &hd)
	return index, hd.Submitter, vault.SealedPersons(rec), ve, true
}

func (h *Handlers) disabled(w http.ResponseWriter) bool {
	if h.cfg.Ring == nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the data-key vault is disabled on this replica: no vault key at %s", h.cfg.VaultKey))
		return true
	}
	return false
}

// Put is PUT /v1/vault/{code}/{index}: it stores the data keys of a
// record's sealed persons: only the agency that submitted the record, and
// only keys that open them.
func (h *Handlers) Put(w http.ResponseWriter, r *http.Request) {
	origin := h.cfg.Origin
	id, ok := h.n.Require(w, r, pki.RolePublish)
	if !ok || h.disabled(w) {
		return
	}
	index, submitter, persons, ve, ok := h.target(w, r)
	if !ok {
		return
	}
	if id.Region != h.cfg.Region || id.ID != submitter {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only the submitter of %s/%d (%s) may store its data keys", origin, index, submitter))
		return
	}
	if ve.Erased {
		httpx.WriteErr(w, httpx.Errorf(http.StatusGone, "the personal data of %s/%d was erased; no key may be stored for it", origin, index))
		return
	}
	var req api.VaultPutRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusBadRequest, "body: want {\"keys\":[{\"person\":\"<path>\",\"key\":\"<base64>\"}]}: %v", err))
		return
	}
	if len(req.Keys) == 0 || len(req.Keys) > h.cfg.MaxKeys {
		httpx.WriteErr(w, httpx.Errorf(http.StatusBadRequest, "keys: give 1 to %d keys, got %d", h.cfg.MaxKeys, len(req.Keys)))
		return
	}
	var errs []api.FieldError
	bad := func(i int, field, rule, format string, args ...any) {
		errs = append(errs, api.FieldError{Field: fmt.Sprintf("keys[%d].%s", i, field), Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	op := Op{Kind: Put, Index: index}
	seen := map[string]bool{}
	for i, k := range req.Keys {
		p, ok := persons[k.Person]
		switch {
		case !ok:
			bad(i, "person", "sealed_person", "%q does not name a sealed person of %s/%d (it has: %s)", k.Person, origin, index, strings.Join(slices.Sorted(maps.Keys(persons)), ", "))
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
		op.Keys = append(op.Keys, vault.Item{Path: k.Person, Wrapped: h.cfg.Ring.State().Wrap(origin, index, k.Person, dk)})
	}
	if len(errs) > 0 {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was stored", len(errs)), Errors: errs})
		return
	}
	// Once raft commits the command, the keys are stored on every replica
	// (also if this process dies before answering: the client's retry with
	// the same keys is then answered 200 with stored 0). A command that
	// cannot be encoded is answered 400 (Node.Propose).
	res, perr := h.n.Propose(r.Context(), op)
	if perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, api.VaultPutResponse{Origin: origin, Index: index, Stored: res.Count})
}

// Get is GET /v1/vault/{code}/{index}: it opens a record's sealed persons
// for its submitter or this region's credit office, after logging the read
// with its purpose.
func (h *Handlers) Get(w http.ResponseWriter, r *http.Request) {
	origin := h.cfg.Origin
	id, ok := h.n.Require(w, r, pki.RolePublish, pki.RoleAdmin)
	if !ok || h.disabled(w) {
		return
	}
	index, submitter, persons, ve, ok := h.target(w, r)
	if !ok {
		return
	}
	if id.Region != h.cfg.Region || (id.Role == pki.RolePublish && id.ID != submitter) {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only the submitter of %s/%d and the credit office of region %s may read its personal plaintext", origin, index, h.cfg.Region))
		return
	}
	purpose := r.URL.Query().Get("purpose")
	if perr := h.cfg.CheckPurpose(purpose, "reading personal data"); perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	if ve.Erased {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "erased: the data keys of %s/%d were destroyed by a legal erasure", origin, index))
		return
	}
	if len(ve.Wrapped) == 0 {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "no data key is stored for %s/%d", origin, index))
		return
	}
	v := api.VaultView{Origin: origin, Index: index, Persons: []api.VaultPerson{}}
	var hashes []string
	for _, path := range slices.Sorted(maps.Keys(ve.Wrapped)) {
		p, ok := persons[path]
		if !ok {
			continue // cannot happen: PUT checks the path against the same record
		}
		dk, err := h.cfg.Ring.State().Unwrap(origin, index, path, ve.Wrapped[path])
		if err != nil {
			httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "%s: %v", path, err))
			return
		}
		pid, name, err := schemas.OpenPerson(p, dk)
		if err != nil {
			httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "%s: %v", path, err))
			return
		}
		v.Persons = append(v.Persons, api.VaultPerson{Path: path, IDHash: p.IDHash, ID: pid, Name: name})
		hashes = append(hashes, p.IDHash)
	}
	// Durable in the access log before a byte of plaintext is sent.
	what := fmt.Sprintf("vault open record %s/%d naming persons %s", origin, index, strings.Join(slices.Compact(slices.Sorted(slices.Values(hashes))), ","))
	if err := h.n.LogAccess(r.Context(), id, what, purpose); err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the access could not be recorded, so the data is not returned: %v", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

// Erase is DELETE /v1/vault/{code}/{index}, a legal erasure: the credit
// office destroys a record's data keys. The request is logged first; the
// erase op is idempotent, so a retry after any failure completes it.
func (h *Handlers) Erase(w http.ResponseWriter, r *http.Request) {
	origin := h.cfg.Origin
	id, ok := h.n.Require(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	if id.Region != h.cfg.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only the credit office of region %s may erase its personal data", h.cfg.Region))
		return
	}
	reason, err := ParseEraseReason(r.URL.Query().Get("reason"))
	if err != nil {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusBadRequest, Error: err.Error(),
			Errors: []api.FieldError{{Record: -1, Field: "reason", Rule: "erase_reason", Message: err.Error()}}})
		return
	}
	// The erasure needs no vault key: it works on a replica where the vault
	// is disabled too.
	index, _, _, _, ok := h.target(w, r)
	if !ok {
		return
	}
	if err := h.n.LogAccess(r.Context(), id, fmt.Sprintf("vault erase record %s/%d reason %q", origin, index, reason), "legal_erasure"); err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the erasure could not be recorded, so it was not done; retry: %v", err))
		return
	}
	// If the process dies here, the access log shows a requested erasure
	// that did not happen; the admin's retry (idempotent) completes it.
	res, perr := h.n.Propose(r.Context(), Op{Kind: Erase, Index: index})
	if perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, api.VaultEraseResponse{Origin: origin, Index: index, Destroyed: res.Count})
}

// Rotate is POST /v1/vault/rotate (see the package doc, "Rotation").
func (h *Handlers) Rotate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.n.Require(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	if id.Region != h.cfg.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only the credit office of region %s may rotate its vault key", h.cfg.Region))
		return
	}
	var from uint64
	if err := h.n.View(func(tx *ledger.ReadTx) error {
		from = vault.StoredEpoch(tx.Bucket(vault.Bucket))
		return nil
	}); err != nil {
		httpx.WriteErr(w, h.cfg.ReadError("the vault epoch", err))
		return
	}
	if err := h.n.LogAccess(r.Context(), id, fmt.Sprintf("vault rotate key of region %s from epoch %d", h.cfg.Region, from), "key_rotation"); err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "the rotation could not be recorded, so it was not done; retry: %v", err))
		return
	}
	// Once raft commits the command every replica re-wraps and replaces its
	// key file; if this process dies before answering, the retry reads the
	// new epoch and rotates once more (harmless: one more step forward).
	res, perr := h.n.Propose(r.Context(), Op{Kind: Rotate, Index: from})
	if perr != nil {
		httpx.WriteErr(w, perr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, api.VaultRotateResponse{Region: h.cfg.Region, From: from, Epoch: res.Epoch, Rewrapped: res.Count})
}

// Refusal is the answer to a vault command the FSM refused (err from the
// FSM's result), or nil if err is not a vault refusal.
func Refusal(err error) *api.ErrorBody {
	var conflict *vault.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &conflict):
		return &api.ErrorBody{Status: http.StatusConflict, Error: err.Error() + "; nothing was stored",
			Errors: []api.FieldError{{Field: conflict.Path, Rule: "same_key", Message: "a stored key is never replaced"}}}
	case errors.Is(err, vault.ErrErased):
		return httpx.Errorf(http.StatusGone, "%v", err)
	case errors.Is(err, vault.ErrEpoch):
		return httpx.Errorf(http.StatusServiceUnavailable, "%v", err)
	case errors.Is(err, vault.ErrNoEntry):
		return httpx.Errorf(http.StatusNotFound, "%v", err)
	}
	return nil
}
