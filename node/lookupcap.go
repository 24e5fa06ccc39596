package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// The daily lookup cap (issue 14; docs/PRIVACY.md "Online"): package
// limits owns the accounting (what is counted, the day, the bucket, the
// refusal); the node charges a lookup in its access-log entry and the FSM
// calls limits.ChargeLookups in the append's transaction (fsm.go).

// DailyLookupCap is the number of plaintext citizen IDs one identity may
// have hashed per day (UTC+8) across the lookup routes.
const DailyLookupCap = limits.DailyLookupCap

// LookupCharge is the charge an access-log entry carries (AccessRecord.Lookup).
type LookupCharge = limits.LookupCharge

// LookupCapError is a lookup refused because the identity's daily cap is
// spent. The caller answers 429 with Retry-After until Reset.
type LookupCapError = limits.LookupCapError

// lookupCharges is the FSM's part: the charges of the access-log entries a
// command appends (entries that are not access records with a charge are
// not charged), counted by limits.ChargeLookups.
func lookupCharges(tx *ledger.Tx, entries [][]byte) (map[string]int, error) {
	b, err := tx.Bucket(limits.BucketLookups)
	if err != nil {
		return nil, err
	}
	var charges []*LookupCharge
	for _, e := range entries {
		var r AccessRecord
		if json.Unmarshal(e, &r) == nil && r.Lookup != nil {
			charges = append(charges, r.Lookup)
		}
	}
	return limits.ChargeLookups(b, charges)
}

// putLookupCharges stores the counts lookupCharges returned, in the append's
// transaction.
func putLookupCharges(tx *ledger.Tx, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	b, err := tx.Bucket(limits.BucketLookups)
	if err != nil {
		return err
	}
	return limits.PutLookupCounts(b, counts)
}

// lookupRefusal maps a LookupCapError the FSM returned to the answer sent
// to the client, also through a follower (forward passes 429 on).
func lookupRefusal(err error) *refusedError {
	var lc *LookupCapError
	if !errors.As(err, &lc) {
		return nil
	}
	return &refusedError{&apiError{Status: http.StatusTooManyRequests, Error: lc.Error(),
		Errors: []FieldError{{Record: -1, Field: "lookup_cap", Rule: "daily_lookup_cap",
			Message: fmt.Sprintf("cap %d plaintext citizen IDs per identity per day (UTC+8); resets at %s", lc.Cap, lc.Reset().Format(time.RFC3339))}}}}
}

// writeLookupCap answers 429 for a spent cap, with Retry-After until reset.
func writeLookupCap(w http.ResponseWriter, lc *LookupCapError) {
	setRetryAfter(w, lc.Day)
	writeErr(w, lookupRefusal(lc).ae)
}

// setRetryAfter sets Retry-After to the seconds until the cap of day resets.
func setRetryAfter(w http.ResponseWriter, day string) {
	reset := (&LookupCapError{Day: day}).Reset()
	secs := max(1, int(time.Until(reset).Seconds()+0.999))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// allowLookups is the serving replica's check before any work: it answers
// 429 and returns false if id's cap for today cannot give k more lookups.
func (n *Node) allowLookups(w http.ResponseWriter, id pki.Identity, k int) bool {
	if k == 0 {
		return true
	}
	key, day := limits.LookupIdentity(id), limits.LookupDay(time.Now())
	used := 0
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		used = limits.LookupsUsed(tx.Bucket(limits.BucketLookups), key, day)
		return nil
	}); err != nil {
		n.readError(w, "the lookup count of today", err)
		return false
	}
	if used+k <= DailyLookupCap {
		return true
	}
	writeLookupCap(w, &LookupCapError{Key: key, Day: day, Used: used, Asked: k, Cap: DailyLookupCap})
	return false
}

// logLookupOrFail writes the access-log entry of a request that has k
// plaintext IDs hashed, charging them to id's daily cap in the same
// replicated append. It checks the purpose first (nothing is charged
// without one). On failure it writes the answer (400, 429 or 503) and
// returns false.
func (n *Node) logLookupOrFail(w http.ResponseWriter, r *http.Request, id pki.Identity, what, purpose string, subjects []string, k int) bool {
	if perr := checkPurpose(purpose, "reading personal data"); perr != nil {
		writeErr(w, perr)
		return false
	}
	if !n.allowLookups(w, id, k) {
		return false
	}
	var charge *LookupCharge
	now := time.Now()
	if k > 0 {
		charge = &LookupCharge{Key: limits.LookupIdentity(id), Day: limits.LookupDay(now), N: k, Cap: DailyLookupCap}
	}
	err := n.logLookup(r.Context(), id, now, what, purpose, subjects, charge)
	if err == nil {
		return true
	}
	var refused *refusedError
	if errors.As(err, &refused) && refused.ae.Status == http.StatusTooManyRequests && charge != nil {
		// Refused by the FSM (of this leader, or of the leader a follower
		// forwarded to): the cap was spent by a concurrent request.
		setRetryAfter(w, charge.Day)
		writeErr(w, refused.ae)
		return false
	}
	writeErr(w, errorf(http.StatusServiceUnavailable, "the lookup could not be recorded, so no answer is given: %v", err))
	return false
}

// logLookup is logAccessRecord with a lookup charge.
func (n *Node) logLookup(ctx context.Context, id pki.Identity, at time.Time, what, purpose string, subjects []string, charge *LookupCharge) error {
	rec := newAccessRecord(id, at, what, purpose, subjects)
	rec.Lookup = charge
	return n.commitAccess(ctx, rec)
}

// plaintextIDs counts the subjects given as citizen IDs (not USCCs, not
// keyed hashes): those the node hashes for the caller.
func plaintextIDs(subjects ...string) int {
	k := 0
	for _, s := range subjects {
		if schemas.DetectIDKind(strings.TrimSpace(s)) == schemas.IDKindCitizenID {
			k++
		}
	}
	return k
}
