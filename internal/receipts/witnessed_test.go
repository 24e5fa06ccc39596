package receipts

import (
	"net/url"
	"testing"
	"time"

	"github.com/creditx/creditx/api"
)

// TestWitnessWait: ?witnessed= and ?wait= are checked before anything is
// written; witnessed=1 needs a consortium member.
func TestWitnessWait(t *testing.T) {
	for _, c := range []struct {
		q      string
		member bool
		wait   time.Duration
		ok     bool
		status int
	}{
		{"", true, 0, false, 0},
		{"wait=5s", true, 0, false, 400},
		{"witnessed=0", true, 0, false, 0},
		{"witnessed=yes", true, 0, false, 400},
		{"witnessed=1", false, 0, false, 400},
		{"witnessed=1", true, DefaultWitnessWait, true, 0},
		{"witnessed=&wait=3s", true, 3 * time.Second, true, 0},
		{"witnessed=1&wait=3m", true, 0, false, 400},
		{"witnessed=1&wait=-1s", true, 0, false, 400},
	} {
		q, err := url.ParseQuery(c.q)
		if err != nil {
			t.Fatal(err)
		}
		wait, ok, ae := WitnessWait(q, c.member)
		st := 0
		if ae != nil {
			st = ae.Status
		}
		if wait != c.wait || ok != c.ok || st != c.status {
			t.Errorf("WitnessWait(%q, member %v) = %v, %v, %d; want %v, %v, %d", c.q, c.member, wait, ok, st, c.wait, c.ok, c.status)
		}
	}
}

// TestFromReceipts: a forwarded submission's receipts become a batch
// receipt with an empty range whose records carry their own proofs.
func TestFromReceipts(t *testing.T) {
	rs := []api.Receipt{
		{Origin: "o", Index: 4, LeafHash: "aa", Checkpoint: "cp", InclusionProof: []string{"p"}},
		{Origin: "o", Index: 2, LeafHash: "bb", Duplicate: true, Checkpoint: "cp", InclusionProof: []string{"q"}},
	}
	br := FromReceipts(rs)
	if br.Count != 0 || br.Origin != "o" || br.Checkpoint != "cp" || len(br.Records) != 2 || !br.Records[1].Duplicate || br.Records[0].InclusionProof[0] != "p" {
		t.Fatalf("FromReceipts = %+v", br)
	}
}
