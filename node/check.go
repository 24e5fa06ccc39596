package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
)

// checkWorkersMax bounds the goroutines that serve checks with grown
// stacks (Node.checkWorkers); requests beyond it run on their own.
const checkWorkersMax = 128

// Wire types of this file's endpoints (package api).
type (
	CheckAnswer       = api.CheckAnswer
	CheckMeasure      = api.CheckMeasure
	CheckFinding      = api.CheckFinding
	BatchCheckRequest = api.BatchCheckRequest
)

// check evaluates one subject (index.Check) from the check index.
func (n *Node) check(key, action string, at time.Time) (*CheckAnswer, error) {
	return n.checkFrom(n.checkHistories, key, action, at) // index.go
}

// checkFrom is check with the subject's listing histories read by histories
// (the check index, or the history walk it must agree with).
func (n *Node) checkFrom(histories func(*ledger.ReadTx, string) ([]sanctions.ListingHistory, error), key, action string, at time.Time) (*CheckAnswer, error) {
	var ans *CheckAnswer
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		hs, err := histories(tx, key)
		if err != nil {
			return err
		}
		eng := n.engineIn(tx)
		cs, err := n.subjectConflicts(tx, key, hs, at) // conflicts.go
		if err != nil {
			return err
		}
		ans, err = index.Check(tx, eng, key, action, at, hs, cs)
		return err
	})
	return ans, err
}

// checkpointSize is index.CheckpointSize.
func checkpointSize(cp []byte) uint64 { return index.CheckpointSize(cp) }

func checkError(w http.ResponseWriter, err error) { writeErr(w, index.CheckErrorBody(err)) }

var parseAt = httpx.ParseAt

// handleCheck is GET /v1/check?subject=&action=&at=.
func (n *Node) handleCheck(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	q := r.URL.Query()
	key, personal, err := n.subjectKeyFromParam(q.Get("subject"))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "subject: %v", err))
		return
	}
	at, err := parseAt(q.Get("at"))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	if personal && !n.logLookupOrFail(w, r, id, "check "+key, q.Get("purpose"), nil, plaintextIDs(q.Get("subject"))) { // lookupcap.go
		return
	}
	ans, err := n.check(key, q.Get("action"), at)
	if err != nil {
		checkError(w, err)
		return
	}
	// Compact: indenting took 6% of a check's CPU and a third of the
	// bytes the agency's client then scans.
	writeCompactJSON(w, http.StatusOK, ans)
}

// handleCheckBatch is POST /v1/check: many subjects, one action, one call.
func (n *Node) handleCheckBatch(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	req, aerr := index.ParseBatchCheck(r.Body, n.subjectKeyFromParam)
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	keys, personal := req.Keys, req.Personal
	plain := plaintextIDs(req.Subjects...)
	if !n.allowLookups(w, id, plain) || !n.allowSubjects(w, r, len(keys)) { // lookupcap.go, privacy_batch.go
		return
	}
	if len(personal) > 0 {
		if perr := checkPurpose(req.Purpose, "checking natural persons"); perr != nil {
			writeErr(w, &apiError{Status: http.StatusBadRequest, Error: "purpose: checking natural persons requires a purpose code of the catalogue",
				Errors: []FieldError{{Record: -1, Field: "purpose", Rule: "purpose", Message: perr.Error}}})
			return
		}
		// One entry for the whole request (privacy_batch.go).
		if !n.logBatchCheck(w, r, id, len(keys), personal, req.Purpose, plain) {
			return
		}
	}
	out := make([]*CheckAnswer, len(keys))
	for i, k := range keys {
		var err error
		if out[i], err = n.check(k, req.Action, req.Time); err != nil {
			checkError(w, err)
			return
		}
	}
	writeCompactJSON(w, http.StatusOK, out)
}
