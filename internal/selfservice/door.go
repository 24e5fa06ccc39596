package selfservice

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"github.com/creditx/creditx/subjecttoken"
)

// Cookie carries the token for the Chinese pages (HttpOnly, Secure,
// SameSite=Strict: a form on another site cannot file an objection).
const Cookie = "creditx_subject"

// Ref is one listing indexed under a subject key.
type Ref struct {
	Origin      string
	Index       uint64
	Responsible bool // indexed as a responsible person of a listed organisation
}

// Notice is a sanction notice that references a listing, with the notice
// in force (as corrected) and the executing agencies' feedback bound to it.
type Notice struct {
	Origin    string
	Index     uint64
	Notice    *schemas.SanctionNotice
	Effective *schemas.SanctionNotice
	Feedback  []*schemas.Feedback
}

// Ledger is the node's replicated state as the door reads it. Every method
// but View runs inside the read transaction View gives, so one answer is
// read from one state.
type Ledger interface {
	// View runs fn in a read transaction of ledger.db.
	View(fn func(tx *ledger.ReadTx) error) error
	// Listings lists the listings indexed under the subject key key, in
	// index order.
	Listings(tx *ledger.ReadTx, key string) []Ref
	// History is listing l's history and the lifecycle engine that computes
	// its state (with the calendars of tx). An error fails the answer.
	History(tx *ledger.ReadTx, ref Ref, l *schemas.Listing) (sanctions.ListingHistory, *sanctions.Engine, error)
	// Notices lists the sanction notices that reference listing ref, in
	// reference order.
	Notices(tx *ledger.ReadTx, ref Ref) []Notice
}

// Door is the subject's door of one node. The node builds it from its
// current state; its fields are not changed after it is built.
type Door struct {
	Region      string
	RevokedFile string              // the per-replica revocation file (subjecttoken.RevokedFile in the data directory)
	Office      *client.Credentials // the credit office's signing credential; nil: no office key (503)
	Ledger      Ledger
	// Revoked says whether a serial is revoked in the replicated bucket
	// (BucketRevoked).
	Revoked func(serial string) (bool, error)
	// Revoke replicates the revocation of serial (raft op 9) and returns,
	// once the leader's FSM has applied it, whether it is new. On failure
	// it writes the answer (nothing was revoked, or the caller may retry)
	// and returns ok false.
	Revoke    func(w http.ResponseWriter, r *http.Request, serial, reason string) (isNew, ok bool)
	MaxReason int // bytes of a revocation's reason (the command's limit)
	// SubjectKeys are the subject keys a listing is indexed under (the
	// owner rule of an objection).
	SubjectKeys func(l *schemas.Listing) []string
	// Submit admits the signed entry e as a submission of office and
	// commits it to the node's own ledger; it returns the answer to send if
	// the entry is refused or not committed.
	Submit func(ctx context.Context, office pki.Identity, e []byte) (*api.Receipt, *api.ErrorBody)
	// LogPersons logs a read naming persons (keyed hashes) in the access
	// log before the answer is sent; it writes the error answer and returns
	// false on failure.
	LogPersons func(w http.ResponseWriter, r *http.Request, id pki.Identity, what string, persons []string, purpose string) bool
	// ReadError is the public answer to a failed ledger read of what.
	ReadError func(what string, err error) *api.ErrorBody
	// Render renders the page /subject with status.
	Render func(w http.ResponseWriter, status int, p Page)
	Logger *slog.Logger
}

// Token verifies the caller's token (Authorization: Bearer, or the page
// cookie). A missing, bad, expired or revoked token is a 401.
func (d *Door) Token(r *http.Request) (*subjecttoken.Token, *api.ErrorBody) {
	s, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if c, err := r.Cookie(Cookie); err == nil {
			s = c.Value
		}
	}
	if s == "" {
		return nil, httpx.Errorf(http.StatusUnauthorized, "a subject token is required (Authorization: Bearer cxs1...): the region's credit office issues one after real-name authentication (creditx subject issue)")
	}
	if d.Office == nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "this node has no credit-office key (sanctions issuer_key), so it cannot check subject tokens")
	}
	revoked, err := subjecttoken.ReadRevoked(d.RevokedFile)
	if err != nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "reading the revoked subject tokens: %v", err)
	}
	var readErr error
	t, err := subjecttoken.Verify(s, d.Office.SignKey.Public().(ed25519.PublicKey), d.Region, time.Now(), func(s string) bool {
		if revoked[s] {
			return true
		}
		r, err := d.Revoked(s) // replicated by raft
		readErr = err
		return r || err != nil
	})
	if readErr != nil {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "reading the revoked subject tokens: %v", readErr)
	}
	if err != nil {
		return nil, httpx.Errorf(http.StatusUnauthorized, "subject token: %v", err)
	}
	return t, nil
}

// Identity is how a subject appears in the access log.
func Identity(t *subjecttoken.Token) pki.Identity {
	return pki.Identity{Role: "subject", ID: t.Subject, Name: t.Name, Serial: t.Serial}
}
