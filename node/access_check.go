package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// checkAccessEntry says why e is not an access-log entry as logAccess
// writes it, or nil.
func checkAccessEntry(e []byte) error {
	var r AccessRecord
	dec := json.NewDecoder(bytes.NewReader(e))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("not an access record: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("not an access record: data after the JSON object")
	}
	again, err := json.Marshal(r)
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
