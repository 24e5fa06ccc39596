package selfservice

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
	"golang.org/x/mod/sumdb/tlog"
)

var grounds = []string{"fact_error", "omission", "over_period", "wrong_listing", "not_removed", "privacy"}

// Grounds are the grounds a subject may give for an objection, in the order
// the page offers them.
func Grounds() []string { return slices.Clone(grounds) }

// File checks req against the token (owner rule), builds the objection,
// signs it with the office key and commits it through the same admission
// as any admin submission (Submit). Bad input is a 4xx with field errors
// and writes nothing.
func (d *Door) File(ctx context.Context, t *subjecttoken.Token, req api.SubjectObjectionRequest) (*api.Receipt, *api.ErrorBody) {
	var errs []api.FieldError
	bad := func(f, rule, msg string) { errs = append(errs, api.FieldError{Field: f, Rule: rule, Message: msg}) }
	if len(req.Grounds) == 0 {
		bad("grounds", "required", "choose at least one ground: "+strings.Join(grounds, ", "))
	}
	for _, g := range req.Grounds {
		if !slices.Contains(grounds, g) {
			bad("grounds", "oneof", fmt.Sprintf("%q is not one of %s", httpx.Clip(g), strings.Join(grounds, ", ")))
		}
	}
	stmt := strings.TrimSpace(req.Statement)
	if stmt == "" {
		bad("statement", "required", "say what is wrong with the listing")
	} else if utf8.RuneCountInString(stmt) > 4000 {
		bad("statement", "max", "at most 4000 characters")
	}
	signer := d.Office
	if signer == nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "this node has no credit-office key and cannot file objections")
	}
	var l *schemas.Listing
	var ref schemas.Ref
	if err := d.Ledger.View(func(tx *ledger.ReadTx) error {
		e, err := tx.Log(req.Origin).Entry(req.Index)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if l, err = schemas.DecodeListing(e); err == nil {
			h := tlog.RecordHash(e)
			ref = schemas.Ref{Origin: req.Origin, Index: req.Index, Hash: hex.EncodeToString(h[:])}
		}
		return nil
	}); err != nil {
		return nil, d.ReadError(fmt.Sprintf("listing %s#%d", httpx.Clip(req.Origin), req.Index), err)
	}
	if l == nil {
		bad("origin", "target", fmt.Sprintf("%s#%d is not a listing held by this node", httpx.Clip(req.Origin), req.Index))
	} else if !slices.Contains(d.SubjectKeys(l), t.Subject) {
		// the owner rule: a subject objects only to listings naming it
		return nil, &api.ErrorBody{Status: http.StatusForbidden, Error: "not your listing; nothing was written",
			Errors: []api.FieldError{{Field: "origin", Rule: "owner", Message: fmt.Sprintf("listing %s#%d does not name the token's subject", req.Origin, req.Index)}}}
	}
	if len(errs) > 0 {
		return nil, &api.ErrorBody{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs}
	}
	slices.Sort(req.Grounds)
	now := time.Now()
	o := &schemas.Objection{
		Header: schemas.Header{Region: d.Region, Submitter: signer.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Target: ref, SubjectKey: t.Subject, Grounds: slices.Compact(req.Grounds), Statement: stmt,
		FiledAt: schemas.NewTime(now), ProvidingUnit: l.Authority,
	}
	e, err := signer.Sign(o)
	if err != nil {
		return nil, httpx.Errorf(http.StatusUnprocessableEntity, "objection: %v", err)
	}
	office := pki.Identity{Role: pki.RoleAdmin, ID: signer.Identity.ID, Region: d.Region}
	rc, aerr := d.Submit(ctx, office, e)
	if aerr != nil {
		return nil, aerr
	}
	d.Logger.Info("objection filed by subject", "serial", t.Serial, "listing", fmt.Sprintf("%s#%d", ref.Origin, ref.Index), "index", rc.Index)
	return rc, nil
}

// ServeObjection is POST /v1/subject/objections.
func (d *Door) ServeObjection(w http.ResponseWriter, r *http.Request) {
	t, aerr := d.Token(r)
	if aerr != nil {
		httpx.WriteErr(w, aerr)
		return
	}
	var req api.SubjectObjectionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusBadRequest, Error: "malformed objection; nothing was written",
			Errors: []api.FieldError{{Rule: "json", Message: err.Error()}}})
		return
	}
	rc, aerr := d.File(r.Context(), t, req)
	if aerr != nil {
		httpx.WriteErr(w, aerr)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rc)
}
