package node

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/selfservice"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
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

// The subject's door (issue 18): package selfservice owns the token check,
// the subject's own view, objections filed by the subject and the page
// /subject; this file gives it the node's ledger, admission and access log.

// SubjectToken is the statement a verified subject token carries.
type SubjectToken = subjecttoken.Token

// Subject kinds, and the revocation file under a replica's data directory.
const (
	SubjectOrganisation = subjecttoken.Organisation
	SubjectPerson       = subjecttoken.Person
	SubjectRevokedFile  = subjecttoken.RevokedFile
)

// objectionGrounds are offered by the subject page (web.go).
var objectionGrounds = selfservice.Grounds()

// door is the subject's door over the node's current state.
func (n *Node) door() *selfservice.Door {
	d := &selfservice.Door{
		Region:      n.cfg.Region,
		RevokedFile: filepath.Join(n.cfg.DataDir, subjecttoken.RevokedFile),
		Ledger:      subjectLedger{n},
		Revoked:     n.revokedSerial, // subject_revoke.go
		Revoke:      n.proposeRevoke,
		MaxReason:   maxReasonLen,
		SubjectKeys: func(l *schemas.Listing) []string {
			var keys []string
			for _, k := range listingSubjectKeys(l) {
				keys = append(keys, k.key)
			}
			return keys
		},
		Submit:     n.submitOffice,
		LogPersons: n.logPersonsOrFail,
		ReadError:  n.publicReadError,
		Render: func(w http.ResponseWriter, status int, p selfservice.Page) {
			n.renderStatus(w, status, "subject", subjectPage{n.base("本人信用记录 My records"), p})
		},
		Logger: n.logger,
	}
	if n.sanctions != nil {
		d.Office = n.sanctions.signer
	}
	return d
}

type subjectPage struct {
	pageBase
	selfservice.Page
}

func (n *Node) handleSubjectSelf(w http.ResponseWriter, r *http.Request) { n.door().ServeSelf(w, r) }
func (n *Node) handleSubjectObjection(w http.ResponseWriter, r *http.Request) {
	n.door().ServeObjection(w, r)
}
func (n *Node) handleSubjectPage(w http.ResponseWriter, r *http.Request) { n.door().ServePage(w, r) }
func (n *Node) handleSubjectPagePost(w http.ResponseWriter, r *http.Request) {
	n.door().ServePagePost(w, r)
}

// submitOffice admits e as a submission of the credit office and commits it
// to this region's ledger (an objection filed by a subject).
func (n *Node) submitOffice(ctx context.Context, office pki.Identity, e []byte) (*Receipt, *apiError) {
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
	return &rs[0], nil
}

// subjectLedger is the node's selfservice.Ledger.
type subjectLedger struct{ n *Node }

func (s subjectLedger) View(fn func(tx *ledger.ReadTx) error) error { return s.n.fsm.view(fn) }

func (s subjectLedger) Listings(tx *ledger.ReadTx, key string) []selfservice.Ref {
	var out []selfservice.Ref
	for _, le := range subjectListings(tx, key) {
		out = append(out, selfservice.Ref{Origin: le.origin, Index: le.index, Responsible: le.kind == kResponsible})
	}
	return out
}

func (s subjectLedger) History(tx *ledger.ReadTx, ref selfservice.Ref, l *schemas.Listing) (sanctions.ListingHistory, *sanctions.Engine, error) {
	h, err := s.n.history(tx, ref.Origin, ref.Index, l)
	if err != nil {
		return sanctions.ListingHistory{}, nil, err
	}
	return h, s.n.engineIn(tx), nil
}

func (s subjectLedger) Notices(tx *ledger.ReadTx, ref selfservice.Ref) []selfservice.Notice {
	var out []selfservice.Notice
	for _, ev := range referencing(tx, ref.Origin, ref.Index) {
		if ev.Kind != "sanction_notice" {
			continue
		}
		nt, ok := readRecord(tx, ev.Origin, ev.Index).(*schemas.SanctionNotice)
		if !ok {
			continue
		}
		eff, _ := effectiveNotice(tx, ev.Origin, ev.Index, nt)
		sn := selfservice.Notice{Origin: ev.Origin, Index: ev.Index, Notice: nt, Effective: eff}
		for _, fe := range referencing(tx, ev.Origin, ev.Index) {
			if fb, ok := readRecord(tx, fe.Origin, fe.Index).(*schemas.Feedback); ok && sanctions.FeedbackUnbound(fb, fe.Origin, nt, ev.Origin) == "" {
				sn.Feedback = append(sn.Feedback, fb)
			}
		}
		out = append(out, sn)
	}
	return out
}
