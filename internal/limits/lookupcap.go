package limits

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/creditx/creditx/pki"
	"go.etcd.io/bbolt"
)

// The daily lookup cap (issue 14, "the target"; docs/PRIVACY.md "Online").
//
// A credential that may give the node a citizen ID in plaintext (POST
// /v1/persons/hash, GET and POST /v1/check, GET /v1/subjects/{id}) can test
// guesses: the node hashes each ID with the match key and answers whether
// it is listed (or the hash itself). The subject bucket (node
// privacy_batch.go, 200/s) bounds the rate; this cap bounds the count: each
// identity (role, region and the certificate's ID, so a second certificate
// of the same agency shares the budget: LookupIdentity) may have at most
// DailyLookupCap plaintext IDs hashed per day, the day counted in UTC+8
// (China Standard Time: the cap resets at 16:00 UTC; LookupDay). Lookups by
// "h1:" keyed hash are not counted: they test no guess.
//
// The charge is replicated: the access-log entry of the lookup carries it
// (access.Record.Lookup, a LookupCharge), and the node's FSM, in the
// transaction that appends the entry, calls ChargeLookups, which refuses the
// entry if the identity's total for that day would pass the cap (nothing
// appended, the caller answers 429), and otherwise PutLookupCounts adds the
// count to BucketLookups of ledger.db. So the count survives restarts,
// snapshots and leader changes, and two replicas answering the same identity
// at once cannot both spend the last lookups. Before committing, the serving
// replica checks its own copy of the count (LookupsUsed) and answers 429
// without a raft round trip; the FSM is the authority (a follower may lag).
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

// BucketLookups holds the counts in ledger.db:
//
//	<identity key> || 0x00 || <day YYYY-MM-DD> -> uint64 BE IDs hashed
//
// Changing the name or the key format breaks existing data (counts restart
// at 0).
const BucketLookups = "lookups"

// lookupZone is the zone whose midnight resets the cap.
var lookupZone = time.FixedZone("UTC+8", 8*3600)

// LookupCharge is the charge an access-log entry carries (internal/access
// Record.Lookup; its JSON is part of the ledger's entries).
type LookupCharge struct {
	Key string `json:"key"` // identity: "<role>|<region>|<certificate ID>"
	Day string `json:"day"` // YYYY-MM-DD in UTC+8
	N   int    `json:"n"`   // plaintext IDs hashed by this request
	Cap int    `json:"cap"` // the cap it was charged under
}

// Check reports whether c is well formed; ChargeLookups ignores one that is
// not.
func (c *LookupCharge) Check() error {
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

// LookupIdentity is the key id's lookups are counted under.
func LookupIdentity(id pki.Identity) string {
	return string(id.Role) + "|" + id.Region + "|" + id.ID
}

// LookupDay is the cap's day of t.
func LookupDay(t time.Time) string { return t.In(lookupZone).Format(time.DateOnly) }

func lookupKey(key, day string) []byte { return []byte(key + "\x00" + day) }

// LookupsUsed reads the count of key on day from BucketLookups b (0 if none
// or b is nil).
func LookupsUsed(b *bbolt.Bucket, key, day string) int {
	if b == nil {
		return 0
	}
	if v := b.Get(lookupKey(key, day)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// ChargeLookups is the FSM's part: for the charges of the entries a command
// appends (nil and malformed charges are not charged), the new count of
// each charged identity and day, or a *LookupCapError for the first charge
// that would pass its cap (the command is refused whole). Deterministic: it
// depends only on the charges and the counts stored in b before them. It
// writes nothing (PutLookupCounts does).
func ChargeLookups(b *bbolt.Bucket, charges []*LookupCharge) (map[string]int, error) {
	counts := map[string]int{}
	for _, c := range charges {
		if c == nil || c.Check() != nil {
			continue
		}
		k := string(lookupKey(c.Key, c.Day))
		used, ok := counts[k]
		if !ok {
			used = LookupsUsed(b, c.Key, c.Day)
		}
		if used+c.N > c.Cap {
			return nil, &LookupCapError{Key: c.Key, Day: c.Day, Used: used, Asked: c.N, Cap: c.Cap}
		}
		counts[k] = used + c.N
	}
	return counts, nil
}

// PutLookupCounts stores the counts ChargeLookups returned into
// BucketLookups b, in the append's transaction.
func PutLookupCounts(b *bbolt.Bucket, counts map[string]int) error {
	for k, v := range counts {
		if err := b.Put([]byte(k), binary.BigEndian.AppendUint64(nil, uint64(v))); err != nil {
			return fmt.Errorf("lookup counts: %w", err)
		}
	}
	return nil
}
