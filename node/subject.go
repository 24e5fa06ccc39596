package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
	"golang.org/x/mod/sumdb/tlog"
)

// Wire types of this file's endpoints (package api).
type (
	SubjectListing          = api.SubjectListing
	SubjectNotice           = api.SubjectNotice
	SubjectObjection        = api.SubjectObjection
	SubjectObjectionRequest = api.SubjectObjectionRequest
	SubjectSelf             = api.SubjectSelf
	SubjectDeadline         = api.SubjectDeadline
)

// The subject's door (issue 18). A listed organisation or person presents
// a subject token (package subjecttoken) and sees, across every ledger this node
// holds (its own region's and the mirrored members'), the listings indexed
// under its subject key, their state, the sanction notices addressed to it
// and the working-day deadlines of its objections; it files an objection
// online. Access rules:
//
//   - a token reads only listings indexed under its own subject key (as the
//     subject, or as a responsible person of a listed organisation), and
//     only the notices whose target is that key;
//   - records are shown masked: keyed hashes and sealed personal data are
//     removed (disclose.StripPersonal), a person's name and ID only in their masked
//     forms, so no personal plaintext leaves through this door;
//   - every answer that names a natural person (a person's own view, or an
//     organisation's listing naming its responsible persons) is logged in
//     the access log before it is sent, role "subject", purpose
//     "subject_access", like any other personal-data read;
//   - an objection is signed by this node with the credit office's key (the
//     sanctions issuer key) on the subject's behalf, after the owner rule:
//     its subject_key is the token's, and must be a key of the listing. It
//     then passes the same admission as an objection the office submits.
//
// The repair application of DOMAIN.md is not filed here: schemas.Repair
// requires the authority's decision, so a repair record is written by the
// authority; the subject sees the repair once it is in a ledger.

// subjectCookie carries the token for the Chinese pages (HttpOnly, Secure,
// SameSite=Strict: a form on another site cannot file an objection).
const subjectCookie = "creditx_subject"

// subjectToken verifies the caller's token (Authorization: Bearer, or the
// page cookie). A missing, bad, expired or revoked token is a 401.
func (n *Node) subjectToken(r *http.Request) (*SubjectToken, *apiError) {
	s, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if c, err := r.Cookie(subjectCookie); err == nil {
			s = c.Value
		}
	}
	if s == "" {
		return nil, errorf(http.StatusUnauthorized, "a subject token is required (Authorization: Bearer cxs1...): the region's credit office issues one after real-name authentication (creditx subject issue)")
	}
	signer := n.officeSigner()
	if signer == nil {
		return nil, errorf(http.StatusServiceUnavailable, "this node has no credit-office key (sanctions issuer_key), so it cannot check subject tokens")
	}
	revoked, err := subjecttoken.ReadRevoked(filepath.Join(n.cfg.DataDir, subjecttoken.RevokedFile))
	if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "reading the revoked subject tokens: %v", err)
	}
	var readErr error
	t, err := subjecttoken.Verify(s, signer.SignKey.Public().(ed25519.PublicKey), n.cfg.Region, time.Now(), func(s string) bool {
		if revoked[s] {
			return true
		}
		r, err := n.revokedSerial(s) // subject_revoke.go: replicated by raft
		readErr = err
		return r || err != nil
	})
	if readErr != nil {
		return nil, errorf(http.StatusServiceUnavailable, "reading the revoked subject tokens: %v", readErr)
	}
	if err != nil {
		return nil, errorf(http.StatusUnauthorized, "subject token: %v", err)
	}
	return t, nil
}

// officeSigner is the credit office's record-signing credential, or nil.
func (n *Node) officeSigner() *client.Credentials {
	if n.sanctions == nil {
		return nil
	}
	return n.sanctions.signer
}

// subjectIdentity is how a subject appears in the access log.
func subjectIdentity(t *SubjectToken) pki.Identity {
	return pki.Identity{Role: "subject", ID: t.Subject, Name: t.Name, Serial: t.Serial}
}

// subjectSelf builds the subject's view at time at, and the keyed hashes of
// the natural persons it names.
func (n *Node) subjectSelf(t *SubjectToken, at time.Time) (*SubjectSelf, []string, error) {
	sv := &SubjectSelf{Subject: t.Subject, Kind: t.Kind, Name: t.Name, Serial: t.Serial,
		Expires: time.Unix(t.Expires, 0).UTC().Format(time.RFC3339), Status: "not_listed", Listings: []SubjectListing{}}
	var persons []string
	if t.Kind == SubjectPerson {
		persons = append(persons, t.Subject)
	}
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		for _, le := range subjectListings(tx, t.Subject) {
			e, err := tx.Log(le.origin).Entry(le.index)
			if err != nil {
				return err
			}
			l, err := decodeListing(e)
			if err != nil {
				continue
			}
			sl, err := n.subjectListing(tx, t, le, e, l, at)
			if err != nil {
				return err
			}
			persons = append(persons, disclose.Persons(l)...)
			if sl.Restricts {
				sv.Status = "listed"
			}
			sv.Listings = append(sv.Listings, sl)
		}
		return nil
	})
	return sv, persons, err
}

func (n *Node) subjectListing(tx *ledger.ReadTx, t *SubjectToken, le entryRef, e []byte, l *schemas.Listing, at time.Time) (SubjectListing, error) {
	lh := tlog.RecordHash(e)
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return SubjectListing{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(s.Record, &m); err != nil {
		return SubjectListing{}, err
	}
	disclose.StripPersonal(m)
	masked, _ := json.Marshal(m)
	sl := SubjectListing{Origin: le.origin, Index: le.index, LeafHash: hex.EncodeToString(lh[:]), As: "subject",
		Name: l.Subject.Name, Domain: l.Domain, Programme: l.Programme.Code, Authority: l.Authority.Name,
		ListedOn: l.ListedOn.String(), Until: l.PublicityEnd.String(), Record: masked,
		Objections: []SubjectObjection{}, Deadlines: []SubjectDeadline{}, Notices: []SubjectNotice{}}
	if le.kind == kResponsible {
		sl.As = "responsible_person"
	}
	if l.Subject.Person != nil {
		sl.Name = l.Subject.Person.NameMasked
	}
	h, err := n.history(tx, le.origin, le.index, l)
	if err != nil {
		return SubjectListing{}, err
	}
	st, err := n.engineIn(tx).State(h, at)
	if err != nil {
		sl.State, sl.Reason = "unknown", err.Error()
		return sl, nil
	}
	sl.State, sl.Reason, sl.Disclosed, sl.Restricts = st.State, st.Reason, st.Disclosed, st.Restricts
	sl.CanObject = st.State == StateActive || st.State == StateSuspended || st.State == "not_yet_listed"
	for _, o := range st.Objections {
		so := SubjectObjection{Origin: o.Ref.Origin, Index: o.Ref.Index, FiledAt: o.FiledAt.String(), Grounds: o.Grounds, Outcome: o.Outcome}
		if o.Decision != nil {
			so.Decision = fmt.Sprintf("%s#%d", o.Decision.Origin, o.Decision.Index)
		}
		sl.Objections = append(sl.Objections, so)
	}
	for _, d := range st.Deadlines {
		sd := SubjectDeadline{What: d.What, Objection: fmt.Sprintf("%s#%d", d.Objection.Origin, d.Objection.Index),
			Met: d.Met, Overdue: d.Overdue, Provisional: d.Provisional, Unknown: d.Unknown}
		if !d.Due.IsZero() {
			sd.Due = d.Due.String()
		}
		if !d.Done.IsZero() {
			sd.Done = d.Done.String()
		}
		sl.Deadlines = append(sl.Deadlines, sd)
	}
	for _, ev := range referencing(tx, le.origin, le.index) {
		if ev.Kind != "sanction_notice" {
			continue
		}
		nt, ok := readRecord(tx, ev.Origin, ev.Index).(*schemas.SanctionNotice)
		if !ok || (nt.Target.USCC != t.Subject && nt.Target.IDHash != t.Subject) {
			continue // addressed to someone else (another responsible person)
		}
		eff, _ := effectiveNotice(tx, ev.Origin, ev.Index, nt)
		var fbs []*schemas.Feedback
		for _, fe := range referencing(tx, ev.Origin, ev.Index) {
			if fb, ok := readRecord(tx, fe.Origin, fe.Index).(*schemas.Feedback); ok && sanctions.FeedbackUnbound(fb, fe.Origin, nt, ev.Origin) == "" {
				fbs = append(fbs, fb)
			}
		}
		ns := sanctions.NoticeStatus(eff, fbs, st, at)
		sl.Notices = append(sl.Notices, SubjectNotice{Origin: ev.Origin, Index: ev.Index, Agency: nt.ExecutingAgency.Name,
			Measure: nt.Measure.Text, Start: nt.Start.String(), End: nt.End.String(), State: ns.State})
	}
	return sl, nil
}

// handleSubjectSelf is GET /v1/subject.
func (n *Node) handleSubjectSelf(w http.ResponseWriter, r *http.Request) {
	t, aerr := n.subjectToken(r)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	sv, ok := n.readSubjectSelf(w, r, t)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

// readSubjectSelf builds the view and logs it as a personal-data read if it
// names a natural person; it writes the error answer and returns false on
// failure (nothing is sent unless the read was logged).
func (n *Node) readSubjectSelf(w http.ResponseWriter, r *http.Request, t *SubjectToken) (*SubjectSelf, bool) {
	sv, persons, err := n.subjectSelf(t, time.Now())
	if err != nil {
		n.readError(w, "subject "+t.Subject, err)
		return nil, false
	}
	if len(persons) > 0 && !n.logPersonsOrFail(w, r, subjectIdentity(t), "subject self-view "+t.Subject, persons, "subject_access") {
		return nil, false
	}
	return sv, true
}

var objectionGrounds = []string{"fact_error", "omission", "over_period", "wrong_listing", "not_removed", "privacy"}

// fileObjection checks req against the token (owner rule), builds the
// objection, signs it with the office key and commits it through the same
// admission as any admin submission. Bad input is a 4xx with field errors
// and writes nothing.
func (n *Node) fileObjection(ctx context.Context, t *SubjectToken, req SubjectObjectionRequest) (*Receipt, *apiError) {
	var errs []FieldError
	bad := func(f, rule, msg string) { errs = append(errs, FieldError{Field: f, Rule: rule, Message: msg}) }
	if len(req.Grounds) == 0 {
		bad("grounds", "required", "choose at least one ground: "+strings.Join(objectionGrounds, ", "))
	}
	for _, g := range req.Grounds {
		if !slices.Contains(objectionGrounds, g) {
			bad("grounds", "oneof", fmt.Sprintf("%q is not one of %s", clip(g), strings.Join(objectionGrounds, ", ")))
		}
	}
	stmt := strings.TrimSpace(req.Statement)
	if stmt == "" {
		bad("statement", "required", "say what is wrong with the listing")
	} else if utf8.RuneCountInString(stmt) > 4000 {
		bad("statement", "max", "at most 4000 characters")
	}
	signer := n.officeSigner()
	if signer == nil {
		return nil, errorf(http.StatusServiceUnavailable, "this node has no credit-office key and cannot file objections")
	}
	var l *schemas.Listing
	var ref schemas.Ref
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		e, err := tx.Log(req.Origin).Entry(req.Index)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if l, err = decodeListing(e); err == nil {
			h := tlog.RecordHash(e)
			ref = schemas.Ref{Origin: req.Origin, Index: req.Index, Hash: hex.EncodeToString(h[:])}
		}
		return nil
	}); err != nil {
		return nil, n.publicReadError(fmt.Sprintf("listing %s#%d", clip(req.Origin), req.Index), err)
	}
	if l == nil {
		bad("origin", "target", fmt.Sprintf("%s#%d is not a listing held by this node", clip(req.Origin), req.Index))
	} else if !slices.ContainsFunc(listingSubjectKeys(l), func(k subjectKey) bool { return k.key == t.Subject }) {
		// the owner rule: a subject objects only to listings naming it
		return nil, &apiError{Status: http.StatusForbidden, Error: "not your listing; nothing was written",
			Errors: []FieldError{{Field: "origin", Rule: "owner", Message: fmt.Sprintf("listing %s#%d does not name the token's subject", req.Origin, req.Index)}}}
	}
	if len(errs) > 0 {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Error: fmt.Sprintf("%d problem(s); nothing was written", len(errs)), Errors: errs}
	}
	slices.Sort(req.Grounds)
	now := time.Now()
	o := &schemas.Objection{
		Header: schemas.Header{Region: n.cfg.Region, Submitter: signer.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Target: ref, SubjectKey: t.Subject, Grounds: slices.Compact(req.Grounds), Statement: stmt,
		FiledAt: schemas.NewTime(now), ProvidingUnit: l.Authority,
	}
	e, err := signer.Sign(o)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "objection: %v", err)
	}
	office := pki.Identity{Role: pki.RoleAdmin, ID: signer.Identity.ID, Region: n.cfg.Region}
	if aerr := n.admitBatch(office, [][]byte{e}); aerr != nil {
		return nil, aerr
	}
	rs, err := n.commit(ctx, n.origin, [][]byte{e})
	var refused *refusedError
	if errors.As(err, &refused) {
		return nil, refused.ae
	}
	if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "not committed, safe to retry: %v", err)
	}
	n.logger.Info("objection filed by subject", "serial", t.Serial, "listing", fmt.Sprintf("%s#%d", ref.Origin, ref.Index), "index", rs[0].Index)
	return &rs[0], nil
}

// handleSubjectObjection is POST /v1/subject/objections.
func (n *Node) handleSubjectObjection(w http.ResponseWriter, r *http.Request) {
	t, aerr := n.subjectToken(r)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	var req SubjectObjectionRequest
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "malformed objection; nothing was written",
			Errors: []FieldError{{Rule: "json", Message: err.Error()}}})
		return
	}
	rc, aerr := n.fileObjection(r.Context(), t, req)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}
