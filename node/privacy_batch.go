package node

import (
	"net/http"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/pki"
)

// Batch checks (POST /v1/check) and the access log (issue 14 item 6).
//
// A batch of up to 1000 subjects writes ONE access-log entry, whatever the
// number of natural persons in it: what "check batch of N subjects" and the
// persons' keyed hashes in AccessRecord.Subjects (short form, access.ShortHashes, so 1000 fit one
// entry of at most ledger.MaxEntrySize bytes). Before, each person cost one
// replicated entry: four clients looping 1000-ID batches for 15 s added
// 22,000 entries (~37 MB) to the append-only log.
//
// Rate limiting counts subjects, not requests: besides the request token of
// the per-client limiter (package limits), a batch takes one token per subject
// from the client's subject bucket, DefaultSubjectsPerSecond sustained with
// a burst of DefaultSubjectBurst (200/s and 1000, not configurable: one full
// batch at once, then 200 subjects a second). Over it the answer is 429 with Retry-After, and nothing
// is logged or checked.

// Defaults of the subject bucket (per client certificate).
const (
	DefaultSubjectsPerSecond = 200
	DefaultSubjectBurst      = 1000
)

// logBatchCheck writes the one access-log entry of a batch check
// (access.Log.BatchCheckOrFail). It writes the answer and returns false on
// failure.
func (n *Node) logBatchCheck(w http.ResponseWriter, r *http.Request, id pki.Identity, subjects int, persons []string, purpose string, plain int) bool {
	return n.accessLog().BatchCheckOrFail(w, r, id, subjects, persons, purpose, plain)
}

// allowSubjects takes k tokens from the subject bucket of r's client. It
// answers 429 and returns false when the bucket cannot give them now.
// Replicas, members and (with limiting off) everyone are not limited.
func (n *Node) allowSubjects(w http.ResponseWriter, r *http.Request, k int) bool {
	key, public, exempt := limits.ClientKey(r)
	if exempt || public || n.limiter.Config().PerSecond < 0 {
		return true
	}
	burst := DefaultSubjectBurst
	wait, ok := n.limiter.Take("subjects|"+key, DefaultSubjectsPerSecond, burst, k)
	if ok {
		return true
	}
	secs := limits.RetryAfter(w, wait)
	writeErr(w, errorf(http.StatusTooManyRequests, "rate limit: client %s asked about more than %d subjects per second (burst %d; a batch counts each subject); retry in %ds", key, DefaultSubjectsPerSecond, burst, secs))
	return false
}
