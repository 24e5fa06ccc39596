package access

import (
	"encoding/json"
	"testing"
	"time"
)

// TestCheckAccessEntry: the leader takes, from a replica, every access
// record Encode writes, and nothing else.
func TestCheckAccessEntry(t *testing.T) {
	good := []Record{
		{At: time.Now().UTC().Format(time.RFC3339Nano), Role: "execute", Who: "11330000MB0000039X", Name: "agency", Serial: "0a",
			What: "record creditx.330000/ledger/12", Purpose: "approval", Nonce: "0123456789abcdef"},
		{At: time.Now().UTC().Format(time.RFC3339Nano), Role: "execute", Who: "x", What: "batch check", Purpose: "approval",
			Nonce: "0123456789abcdef", Subjects: []string{"h1:00", "h1:01"}},
	}
	for _, r := range good {
		b, _ := json.Marshal(r)
		if err := Check(b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	b, _ := json.Marshal(good[0])
	// every field of a good record, members in another order: only the
	// canonical-form check can refuse it
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	reordered := mustJSON(fields) // a map marshals with sorted keys
	if string(reordered) == string(b) {
		t.Fatal("re-ordering left the record as logAccess writes it")
	}
	bad := map[string][]byte{
		"not JSON":       []byte("{not json"),
		"unknown field":  append(b[:len(b)-1], []byte(`,"extra":1}`)...),
		"trailing data":  append(append([]byte(nil), b...), []byte(" {}")...),
		"re-ordered":     reordered,
		"bad time":       mustJSON(Record{At: "yesterday", Who: "x", What: "y", Purpose: "z", Nonce: "0123456789abcdef"}),
		"missing nonce":  mustJSON(Record{At: good[0].At, Who: "x", What: "y", Purpose: "z"}),
		"missing reader": mustJSON(Record{At: good[0].At, What: "y", Purpose: "z", Nonce: "0123456789abcdef"}),
	}
	for name, e := range bad {
		if err := Check(e); err == nil {
			t.Errorf("%s accepted: %s", name, e)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
