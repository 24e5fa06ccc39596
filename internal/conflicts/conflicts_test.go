package conflicts

import (
	"testing"
	"time"

	"github.com/creditx/creditx/sanctions"
)

// TestMergeMarksInForce: a recorded conflict no longer detected now is
// listed but not in force; one detected now but not recorded is in force
// without a detecting entry.
func TestMergeMarksInForce(t *testing.T) {
	a := sanctions.Conflict{Kind: "same_act", Subject: "S", Listings: nil}
	b := sanctions.Conflict{Kind: "red_and_black", Subject: "S"}
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	rec := Record{Conflicts: []sanctions.Conflict{a}, Origin: "o", Index: 3, At: at}
	out := Merge(rec, []sanctions.Conflict{b})
	if len(out) != 2 {
		t.Fatalf("Merge = %+v; want two", out)
	}
	if out[0].InForce || out[0].Detected == nil || out[0].Detected.Index != 3 || !out[0].Since.Equal(at) {
		t.Errorf("recorded, no longer detected: %+v", out[0])
	}
	if !out[1].InForce || out[1].Detected != nil {
		t.Errorf("detected now, not recorded: %+v", out[1])
	}
	if out := Merge(rec, []sanctions.Conflict{a}); len(out) != 1 || !out[0].InForce {
		t.Errorf("recorded and still detected: %+v", out)
	}
}
