package limits

import (
	"fmt"
	"net/http"
)

// Batch checks (POST /v1/check) and plaintext hashing ask about many
// subjects in one request (issue 14 item 6). Rate limiting counts subjects,
// not requests: besides the request token of the per-client limiter, a
// batch takes one token per subject from the client's subject bucket,
// SubjectsPerSecond sustained with a burst of SubjectBurst (200/s and 1000,
// not configurable: one full batch at once, then 200 subjects a second).
// Over it the answer is 429 with Retry-After, and nothing is logged or
// checked.

// Defaults of the subject bucket (per client certificate).
const (
	SubjectsPerSecond = 200
	SubjectBurst      = 1000
)

// TakeSubjects takes k tokens from the subject bucket of r's client.
// Replicas, members, public callers and (with limiting off) everyone are
// not limited. When the bucket cannot give them now it sets Retry-After on
// w and returns the 429 answer's message; "" allows the request.
func (rl *Limiter) TakeSubjects(w http.ResponseWriter, r *http.Request, k int) string {
	key, public, exempt := ClientKey(r)
	if exempt || public || rl.Config().PerSecond < 0 {
		return ""
	}
	wait, ok := rl.Take("subjects|"+key, SubjectsPerSecond, SubjectBurst, k)
	if ok {
		return ""
	}
	secs := RetryAfter(w, wait)
	return fmt.Sprintf("rate limit: client %s asked about more than %d subjects per second (burst %d; a batch counts each subject); retry in %ds", key, SubjectsPerSecond, SubjectBurst, secs)
}
