package access

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/creditx/creditx/internal/limits"
	"github.com/creditx/creditx/pki"
)

// Record is one entry of the access log: who read which personal data,
// when and for what purpose. Its encoding is [Encode]'s.
type Record struct {
	At      string `json:"at"` // RFC 3339 UTC, nanoseconds
	Role    string `json:"role"`
	Who     string `json:"who"`  // agency USCC or replica id
	Name    string `json:"name"` // certificate subject name
	Serial  string `json:"cert_serial"`
	What    string `json:"what"`    // e.g. "subject h1:...", "record creditx.330000/ledger/12"
	Purpose string `json:"purpose"` // purpose code given by the caller
	Nonce   string `json:"nonce"`   // 16 hex digits; makes every entry distinct
	// Subjects, in an aggregated entry (a batch check), are the natural
	// persons read: each keyed hash shortened to "h1:" and its first 32
	// hex digits (128 bits: unique among 10^8 persons with probability
	// 1 - 10^-22), sorted, without duplicates, so that 1000 of them fit
	// one entry (ledger.MaxEntrySize). Absent in other entries.
	Subjects []string `json:"subjects,omitempty"`
	// Lookup, in the entry of a request that had plaintext citizen IDs
	// hashed, charges them to the caller's daily cap (package limits).
	Lookup *limits.LookupCharge `json:"lookup,omitempty"`
}

// NewRecord is the entry of a read by id at time at, with a fresh random
// nonce.
func NewRecord(id pki.Identity, at time.Time, what, purpose string, subjects []string) Record {
	nonce := make([]byte, 8)
	rand.Read(nonce)
	return Record{At: at.UTC().Format(time.RFC3339Nano), Role: string(id.Role), Who: id.ID, Name: id.Name,
		Serial: id.Serial, What: what, Purpose: purpose, Nonce: hex.EncodeToString(nonce), Subjects: subjects}
}

// Encode is the entry's bytes: encoding/json of rec, fields in declaration
// order ("at", "role", "who", "name", "cert_serial", "what", "purpose",
// "nonce", then "subjects" and "lookup" when set), no space. The struct's
// field order is fixed, so the encoding is deterministic.
func Encode(rec Record) ([]byte, error) {
	return json.Marshal(rec)
}

// Check says why e is not an access-log entry as [Encode] writes it, or
// nil: it must decode without unknown fields or trailing data, re-encode to
// the same bytes, carry an RFC 3339 time, a who, a what, a purpose and a
// 16-hex-digit nonce, and a valid lookup charge if any.
func Check(e []byte) error {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(e))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("not an access record: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("not an access record: data after the JSON object")
	}
	again, err := Encode(r)
	if err != nil || !bytes.Equal(again, e) {
		return fmt.Errorf("access record is not in its canonical form (as logAccess writes it)")
	}
	if _, err := time.Parse(time.RFC3339Nano, r.At); err != nil {
		return fmt.Errorf("access record at: %w", err)
	}
	if r.Who == "" || r.What == "" || r.Purpose == "" || len(r.Nonce) != 16 {
		return fmt.Errorf("access record: who, what, purpose and a 16-hex-digit nonce are required")
	}
	if r.Lookup != nil {
		return r.Lookup.Check()
	}
	return nil
}
