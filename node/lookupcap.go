package node

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// The daily lookup cap (issue 14, "the target"; docs/PRIVACY.md "Online").
//
// A credential that may give the node a citizen ID in plaintext (POST
// /v1/persons/hash, GET and POST /v1/check, GET /v1/subjects/{id}) can test
// guesses: the node hashes each ID with the match key and answers whether
// it is listed (or the hash itself). The subject bucket (privacy_batch.go,
// 200/s) bounds the rate; this cap bounds the count: each identity (role,
// region and the certificate's ID, so a second certificate of the same
// agency shares the budget) may have at most DailyLookupCap plaintext IDs
// hashed per day, the day counted in UTC+8 (China Standard Time: the cap
// resets at 16:00 UTC). Lookups by "h1:" keyed hash are not counted: they
// test no guess.
//
// The charge is replicated: the access-log entry of the lookup carries it
// (AccessRecord.Lookup: identity key, day, count, cap), and the FSM, in the
// transaction that appends the entry, refuses the entry if the identity's
// total for that day would pass the cap (nothing appended, the caller
// answers 429) and otherwise adds the count to bucket "lookups" of
// ledger.db. So the count survives restarts, snapshots and leader changes,
// and two replicas answering the same identity at once cannot both spend
// the last lookups. Before committing, the serving replica checks its own
// copy of the count and answers 429 without a raft round trip; the FSM is
// the authority (a follower may lag).
//
// Every lookup needs a purpose of the catalogue; the entry records it. The
// cap counts all purposes together: changing the purpose buys no lookups.
//
// What the cap buys (docs/PRIVACY.md): one identity tests at most 365,000
// candidates a year; 100 colluding certificates for 10 years 3.65x10^8,
// below the ~1.1x10^9 candidates a masked form leaves per person and far
// below the 10^12 target for the whole ID space (~2.3x10^11 IDs). It does not
// stop an attacker who also knows the county and birth year (~33,000
// candidates, 34 days of one identity's cap): against that, only the access
// log (every guess attributed, with its purpose) defends.

// DailyLookupCap is the number of plaintext citizen IDs one identity may
// have hashed per day (UTC+8) across the lookup routes.
const DailyLookupCap = 1000

// bucketLookups holds the counts: key "<identity key>\x00<day>" -> uint64 BE
// IDs hashed. Changing the name or the key format breaks existing data
// (counts restart at 0).
const bucketLookups = "lookups"

// lookupZone is the zone whose midnight resets the cap.
var lookupZone = time.FixedZone("UTC+8", 8*3600)

// LookupCharge is the charge an access-log entry carries (AccessRecord.Lookup).
type LookupCharge struct {
	Key string `json:"key"` // identity: "<role>|<region>|<certificate ID>"
	Day string `json:"day"` // YYYY-MM-DD in UTC+8
	N   int    `json:"n"`   // plaintext IDs hashed by this request
	Cap int    `json:"cap"` // the cap it was charged under
}

func (c *LookupCharge) check() error {
	if c.Key == "" || strings.ContainsRune(c.Key, 0) || c.N <= 0 || c.Cap <= 0 {
		return fmt.Errorf("lookup charge: key, a positive count and a positive cap are required")
	}
	if _, err := time.Parse(time.DateOnly, c.Day); err != nil {
		return fmt.Errorf("lookup charge day: %w", err)
	}
	return nil
}

// LookupCapError is a lookup refused because the identity's daily cap is
// spent. The caller answers 429 with Retry-After until Reset.
type LookupCapError struct {
	Key   string
	Day   string
	Used  int // already charged on Day
	Asked int
	Cap   int
}

func (e *LookupCapError) Error() string {
	return fmt.Sprintf("daily lookup cap: %s has had %d of its %d plaintext citizen-ID lookups (subjects given as citizen IDs) on %s (UTC+8) and asks for %d more; the cap resets at %s",
		e.Key, e.Used, e.Cap, e.Day, e.Asked, e.Reset().Format(time.RFC3339))
}

// Reset is when the cap of e.Day is renewed: the next midnight in UTC+8.
func (e *LookupCapError) Reset() time.Time {
	d, err := time.ParseInLocation(time.DateOnly, e.Day, lookupZone)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1).UTC()
}

func lookupIdentity(id pki.Identity) string {
	return string(id.Role) + "|" + id.Region + "|" + id.ID
}

func lookupDay(t time.Time) string { return t.In(lookupZone).Format(time.DateOnly) }

func lookupKey(key, day string) []byte { return []byte(key + "\x00" + day) }

// lookupsUsed reads the count of key on day (0 if none).
func lookupsUsed(get func([]byte) []byte, key, day string) int {
	if v := get(lookupKey(key, day)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// lookupCharges is the FSM's part: for the access-log entries a command
// appends, the new count of each charged identity and day, or the refusal
// of the first entry that would pass its cap. Entries that are not access
// records with a charge are not charged. Deterministic: it depends only on
// the entries and the counts stored before them.
func lookupCharges(tx *ledger.Tx, entries [][]byte) (map[string]int, error) {
	b, err := tx.Bucket(bucketLookups)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, e := range entries {
		var r AccessRecord
		if json.Unmarshal(e, &r) != nil || r.Lookup == nil || r.Lookup.check() != nil {
			continue
		}
		c := r.Lookup
		k := string(lookupKey(c.Key, c.Day))
		used, ok := counts[k]
		if !ok {
			used = lookupsUsed(b.Get, c.Key, c.Day)
		}
		if used+c.N > c.Cap {
			return nil, &LookupCapError{Key: c.Key, Day: c.Day, Used: used, Asked: c.N, Cap: c.Cap}
		}
		counts[k] = used + c.N
	}
	return counts, nil
}

// putLookupCharges stores the counts lookupCharges returned, in the append's
// transaction.
func putLookupCharges(tx *ledger.Tx, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	b, err := tx.Bucket(bucketLookups)
	if err != nil {
		return err
	}
	for k, v := range counts {
		if err := b.Put([]byte(k), binary.BigEndian.AppendUint64(nil, uint64(v))); err != nil {
			return err
		}
	}
	return nil
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
	key, day := lookupIdentity(id), lookupDay(time.Now())
	used := 0
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(bucketLookups); b != nil {
			used = lookupsUsed(b.Get, key, day)
		}
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
		charge = &LookupCharge{Key: lookupIdentity(id), Day: lookupDay(now), N: k, Cap: DailyLookupCap}
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
