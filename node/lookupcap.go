package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/creditx/creditx/internal/access"
	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// The access log and the daily lookup cap (issue 14; docs/PRIVACY.md
// "Online"): package access owns the entries, the purpose catalogue and
// the "logged before sent" answers; package limits owns the cap's
// accounting. This file gives them the node's raft append and read
// transactions, and keeps the names the handlers call.

// AccessRecord is one entry of the access log (access.Record).
type AccessRecord = access.Record

// DailyLookupCap is the number of plaintext citizen IDs one identity may
// have hashed per day (UTC+8) across the lookup routes.
const DailyLookupCap = limits.DailyLookupCap

// LookupCharge is the charge an access-log entry carries (AccessRecord.Lookup).
type LookupCharge = limits.LookupCharge

// LookupCapError is a lookup refused because the identity's daily cap is
// spent. The caller answers 429 with Retry-After until Reset.
type LookupCapError = limits.LookupCapError

// Purposes returns the catalogue of access purposes, code -> description.
func Purposes() map[string]string { return access.Purposes() }

// accessLog is the access log over the node's raft and ledger.db.
func (n *Node) accessLog() *access.Log {
	return access.New(access.Config{
		Origin: n.access,
		Append: func(ctx context.Context, e []byte) error {
			_, err := n.commit(ctx, n.access, [][]byte{e})
			return err
		},
		Refused: func(err error) *apiError {
			var refused *refusedError
			if errors.As(err, &refused) {
				return refused.ae
			}
			return nil
		},
		View:      n.fsm.view,
		ReadError: n.publicReadError,
		Logged:    func() { n.metrics.accessLogged.Inc() }, // bound when called: a Node in a test may have no metrics
	})
}

func checkPurpose(p, why string) *apiError { return access.CheckPurpose(p, why) }

func (n *Node) logAccessOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what string) bool {
	return n.accessLog().OrFail(w, r, id, what)
}

func (n *Node) logPersonsOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what string, persons []string, purpose string) bool {
	return n.accessLog().PersonsOrFail(w, r, id, what, persons, purpose)
}

func (n *Node) logAccess(ctx context.Context, id pki.Identity, what, purpose string) error {
	return n.accessLog().Read(ctx, id, what, purpose)
}

func (n *Node) allowLookups(w http.ResponseWriter, id pki.Identity, k int) bool {
	return n.accessLog().AllowLookups(w, id, k)
}

func (n *Node) logLookupOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what, purpose string, subjects []string, k int) bool {
	return n.accessLog().LookupOrFail(w, r, id, what, purpose, subjects, k)
}

func plaintextIDs(subjects ...string) int { return access.PlaintextIDs(subjects...) }

// lookupCharges and putLookupCharges are the FSM's part (fsm.go).
func lookupCharges(tx *ledger.Tx, entries [][]byte) (map[string]int, error) {
	return access.ChargeLookups(tx, entries)
}

func putLookupCharges(tx *ledger.Tx, counts map[string]int) error {
	return access.PutLookupCharges(tx, counts)
}

// lookupRefusal maps a LookupCapError the FSM returned to the answer sent
// to the client, also through a follower (forward passes 429 on).
func lookupRefusal(err error) *refusedError {
	if ae := access.LookupRefusal(err); ae != nil {
		return &refusedError{ae}
	}
	return nil
}

// handleAccessLog lets auditors and admins read the access log with its
// checkpoint: ?start=N&limit=M.
func (n *Node) handleAccessLog(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin); ok {
		n.accessLog().ServeLog(w, r)
	}
}
