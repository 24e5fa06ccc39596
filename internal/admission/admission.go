package admission

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// KindsByRole is which record kinds each role may submit. Sanction notices
// are issued by the credit office (admin) on behalf of the region.
var KindsByRole = map[pki.Role][]string{
	pki.RolePublish: {"listing", "correction", "repair", "objection_decision"},
	pki.RoleExecute: {"feedback"},
	pki.RoleAdmin:   {"governance", "objection", "sanction_notice", "correction", "objection_decision", "repair"},
}

// Store is the replica's committed state as admission reads it.
type Store interface {
	// View runs fn in a read transaction of ledger.db: committed state
	// only, consistent within fn. Its error is fn's or the store's.
	View(fn func(tx *ledger.ReadTx) error) error
	// Keyring is the keyring in force (rebuilt from governance records as
	// they are applied; safe for concurrent use).
	Keyring() *schemas.Keyring
}

// Sanctions gives the sanctions engines the loop and owner rules use.
type Sanctions interface {
	// Engine is the node's configured engine (fixed after start).
	Engine() *sanctions.Engine
	// EngineIn is the engine of the catalogue in force as of tx.
	EngineIn(tx *ledger.ReadTx) *sanctions.Engine
}

// Governance checks the governance actions whose rules other packages own.
// Each returns the field and message of a refusal, or "" and "".
type Governance interface {
	CheckCatalogueAdopt(a *schemas.CatalogueAdopt) (field, msg string)
	CheckCalendarAdopt(a *schemas.CalendarAdopt) (field, msg string)
	CheckManifestPropose(p *schemas.ManifestPropose) (field, msg string)
}

// Logs are the loop-log rules (package notices).
type Logs interface {
	// LoopOrigin is the loop log's origin, or "" when it is off.
	LoopOrigin() string
	// RecordLog is the log a record is written to.
	RecordLog(rec schemas.Record) string
	// SubmitLog is the log a batch goes to; a batch spanning logs is refused.
	SubmitLog(entries [][]byte) (string, *api.ErrorBody)
	// CheckLoopEntry is the FSM's check of an entry of the loop log.
	CheckLoopEntry(e []byte) error
}

// Config is what a Checker reads of the node. All fields are required
// except Admitted.
type Config struct {
	Region string // this region's code
	Origin string // this region's ledger
	Access string // this region's access log

	Store      Store
	Sanctions  Sanctions
	Governance Governance
	Logs       Logs
	Validator  *schemas.Validator

	// Admitted, if not nil, receives the parse of every admitted record
	// (the FSM's indexer takes it instead of parsing again).
	Admitted func(e []byte, s *schemas.Signed, rec schemas.Record)
	// CheckAccess says why e is not an access-log entry as the node writes
	// it, or nil (access.Check).
	CheckAccess func(e []byte) error
	Logger      *slog.Logger
}

// Checker runs the admission checks. It holds no state of its own: a
// Checker is cheap to build and safe for concurrent use.
type Checker struct{ cfg Config }

// New returns a Checker reading cfg.
func New(cfg Config) *Checker { return &Checker{cfg} }

// Problem is one problem of a submission with the HTTP status it calls for.
type Problem struct {
	Status int
	api.FieldError
}

// ReadFailed is the problem of record i when admission could not read the
// ledger to check it (a bbolt or page error, not the record's fault): 500,
// nothing is written and the caller may retry. The cause goes to the log.
func (c *Checker) ReadFailed(i int, what string, err error) Problem {
	c.cfg.Logger.Error("admission could not read the ledger", "record", i, "what", what, "err", err)
	return Problem{http.StatusInternalServerError,
		api.FieldError{Record: i, Field: "record", Rule: "read", Message: what + " could not be read on this replica; nothing was written, retry"}}
}

// Batch checks every record of a submission by id; nil admits the batch,
// which is admitted only if all pass (a rejected batch writes nothing).
// The checks are those of the package doc; the most specific status wins:
// 400 malformed, 413 too large, 403 not allowed, 422 invalid content.
func (c *Checker) Batch(id pki.Identity, entries [][]byte) *api.ErrorBody {
	kr := c.cfg.Store.Keyring()
	var size uint64
	// A record already in the ledger is checked against the keyring at the
	// index it has: a replay answers with its original receipt even if its
	// key was revoked since (the FSM skips it by leaf hash), while every other
	// check (role, key owner, submitter, ...) still applies to the caller.
	at := make([]uint64, len(entries))
	if err := c.cfg.Store.View(func(tx *ledger.ReadTx) error {
		lr := tx.Log(c.cfg.Origin)
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
		fe := c.ReadFailed(0, "the ledger's size", err)
		return &api.ErrorBody{Status: fe.Status, Error: fe.Message, Errors: []api.FieldError{fe.FieldError}}
	}
	var errs []api.FieldError
	status := 0
	for _, fes := range c.parallel(id, kr, at, entries) { // parallel.go
		for _, fe := range fes {
			errs = append(errs, fe.FieldError)
			status = batchStatus(status, fe.Status)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &api.ErrorBody{Status: status, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs}
}

// batchStatus is the status of a refused batch so far (0: none yet) after a
// problem with status st: the lowest-numbered 4xx that is not 422, else 422.
func batchStatus(status, st int) int {
	if status == 0 || (st != http.StatusUnprocessableEntity && (status == http.StatusUnprocessableEntity || st < status)) {
		return st
	}
	return status
}

// admit checks entry i of a batch, to be written at index at.
func (c *Checker) admit(id pki.Identity, kr *schemas.Keyring, at uint64, i int, e []byte) []Problem {
	one := func(status int, field, rule, msg string) []Problem {
		return []Problem{{status, api.FieldError{Record: i, Field: field, Rule: rule, Message: msg}}}
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
	if !slices.Contains(KindsByRole[id.Role], kind) {
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
	if err := kr.VerifyKey(s, ki.Public); err != nil { // s.Verify with the key prepared (its multiples tabled) once per keyring
		return one(http.StatusForbidden, "sig", "signature", err.Error())
	}
	var out []Problem
	h := schemas.HeaderOf(rec)
	if h.Region != c.cfg.Region {
		out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record.region", Rule: "region", Message: fmt.Sprintf("record is for region %s; this is the node of %s", h.Region, c.cfg.Region)}})
	}
	if h.Submitter != id.ID {
		out = append(out, Problem{http.StatusForbidden, api.FieldError{Record: i, Field: "record.submitter", Rule: "submitter", Message: fmt.Sprintf("submitter %s is not the certificate's agency %s", h.Submitter, id.ID)}})
	}
	if l, ok := rec.(*schemas.Listing); ok && id.Role == pki.RolePublish {
		if !slices.Contains(id.Domains, l.Domain) || (len(ki.Domains) > 0 && !slices.Contains(ki.Domains, l.Domain)) {
			out = append(out, Problem{http.StatusForbidden, api.FieldError{Record: i, Field: "record.domain", Rule: "domain_scope", Message: fmt.Sprintf("agency %s may not list in domain %q (its domains: %v)", id.ID, l.Domain, id.Domains)}})
		}
	}
	if err := c.cfg.Validator.Validate(rec); err != nil {
		var ves schemas.ValidationErrors
		if errors.As(err, &ves) {
			for _, fe := range ves {
				out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record." + fe.Field, Rule: fe.Rule, Message: fe.Message}})
			}
		} else {
			out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record", Rule: "validate", Message: err.Error()}})
		}
	}
	// Personal data where it does not belong (issue 14): admission only, so
	// mirrored and audited entries verify with Validate alone.
	for _, fe := range schemas.CheckPlaintext(rec) {
		out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record." + fe.Field, Rule: fe.Rule, Message: fe.Message}})
	}
	out = append(out, c.Loop(i, rec, id)...) // loop.go (issue 12)
	for _, ref := range index.RecordRefs(rec) {
		if msg, err := c.CheckRef(ref); err != nil {
			out = append(out, c.ReadFailed(i, fmt.Sprintf("reference %s/%d", ref.Origin, ref.Index), err))
		} else if msg != "" {
			out = append(out, Problem{http.StatusUnprocessableEntity, api.FieldError{Record: i, Field: "record.ref", Rule: "reference", Message: msg}})
		}
	}
	if len(out) == 0 {
		out = c.owner(id, ki, at, i, s, rec) // owner.go
	}
	if len(out) == 0 && c.cfg.Admitted != nil {
		c.cfg.Admitted(e, s, rec) // the FSM takes this parse instead of parsing again (package index)
	}
	return out
}

// CheckRef reports why ref does not point at an existing entry, or "". An
// error is a failed read of the ledger, which says nothing about ref.
func (c *Checker) CheckRef(ref schemas.Ref) (string, error) {
	msg := ""
	err := c.cfg.Store.View(func(tx *ledger.ReadTx) error {
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

// readRecord is the record of entry index of origin, or nil.
func readRecord(tx *ledger.ReadTx, origin string, i uint64) schemas.Record {
	e, err := tx.Log(origin).Entry(i)
	if err != nil {
		return nil
	}
	return schemas.DecodeEntry(e)
}
