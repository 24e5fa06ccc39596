package node

import (
	"net/http"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/pki"
)

// Batch checks (POST /v1/check) write ONE access-log entry per batch
// (access.Log.BatchCheckOrFail) and are rate limited per subject
// (limits.Limiter.TakeSubjects), issue 14 item 6.

// Defaults of the subject bucket (per client certificate).
const (
	DefaultSubjectsPerSecond = limits.SubjectsPerSecond
	DefaultSubjectBurst      = limits.SubjectBurst
)

// logBatchCheck writes the one access-log entry of a batch check
// (access.Log.BatchCheckOrFail). It writes the answer and returns false on
// failure.
func (n *Node) logBatchCheck(w http.ResponseWriter, r *http.Request, id pki.Identity, subjects int, persons []string, purpose string, plain int) bool {
	return n.accessLog().BatchCheckOrFail(w, r, id, subjects, persons, purpose, plain)
}

// allowSubjects takes k tokens from the subject bucket of r's client
// (limits.Limiter.TakeSubjects). It answers 429 and returns false when the
// bucket cannot give them now.
func (n *Node) allowSubjects(w http.ResponseWriter, r *http.Request, k int) bool {
	if msg := n.limiter.TakeSubjects(w, r, k); msg != "" {
		writeErr(w, errorf(http.StatusTooManyRequests, "%s", msg))
		return false
	}
	return true
}
