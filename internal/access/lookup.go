package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// ChargeLookups is the FSM's part of the cap, in the transaction that
// appends entries to the access log: the charges of the entries that are
// access records with a charge (others are not charged), counted by
// limits.ChargeLookups, which refuses with a *limits.LookupCapError if a
// total would pass the cap.
func ChargeLookups(tx *ledger.Tx, entries [][]byte) (map[string]int, error) {
	b, err := tx.Bucket(limits.BucketLookups)
	if err != nil {
		return nil, err
	}
	var charges []*limits.LookupCharge
	for _, e := range entries {
		var r Record
		if json.Unmarshal(e, &r) == nil && r.Lookup != nil {
			charges = append(charges, r.Lookup)
		}
	}
	return limits.ChargeLookups(b, charges)
}

// PutLookupCharges stores the counts ChargeLookups returned, in the same
// transaction.
func PutLookupCharges(tx *ledger.Tx, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	b, err := tx.Bucket(limits.BucketLookups)
	if err != nil {
		return err
	}
	return limits.PutLookupCounts(b, counts)
}

// LookupRefusal is the answer (429) to a LookupCapError the FSM returned,
// or nil if err is not one.
func LookupRefusal(err error) *api.ErrorBody {
	var lc *limits.LookupCapError
	if !errors.As(err, &lc) {
		return nil
	}
	return &api.ErrorBody{Status: http.StatusTooManyRequests, Error: lc.Error(),
		Errors: []api.FieldError{{Record: -1, Field: "lookup_cap", Rule: "daily_lookup_cap",
			Message: fmt.Sprintf("cap %d plaintext citizen IDs per identity per day (UTC+8); resets at %s", lc.Cap, lc.Reset().Format(time.RFC3339))}}}
}

// WriteLookupCap answers 429 for a spent cap, with Retry-After until reset.
func WriteLookupCap(w http.ResponseWriter, lc *limits.LookupCapError) {
	setRetryAfter(w, lc.Day)
	httpx.WriteErr(w, LookupRefusal(lc))
}

// setRetryAfter sets Retry-After to the seconds until the cap of day resets.
func setRetryAfter(w http.ResponseWriter, day string) {
	reset := (&limits.LookupCapError{Day: day}).Reset()
	secs := max(1, int(time.Until(reset).Seconds()+0.999))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// PlaintextIDs counts the subjects given as citizen IDs (not USCCs, not
// keyed hashes): those the node hashes for the caller, and charges.
func PlaintextIDs(subjects ...string) int {
	k := 0
	for _, s := range subjects {
		if schemas.DetectIDKind(strings.TrimSpace(s)) == schemas.IDKindCitizenID {
			k++
		}
	}
	return k
}
