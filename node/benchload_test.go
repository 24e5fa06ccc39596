package node_test

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestLoadDirect: entries loaded without raft are in the ledger and covered
// by a signed checkpoint of the whole tree.
func TestLoadDirect(t *testing.T) {
	rn := runNodeWith(t, 0, nil)
	var entries [][]byte
	for i := range 3 {
		l, err := synth.Listing(uint64(100+i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: rn.pub.Identity.Name, USCC: rn.pub.Identity.ID},
			MatchKey: *rn.pub.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := rn.pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if err := rn.n.LoadDirect(entries); err != nil {
		t.Fatal(err)
	}
	req, _ := rn.aud.Client.Get(rn.n.URL() + "/ledger/330000/checkpoint")
	b, _ := io.ReadAll(req.Body)
	req.Body.Close()
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 || lines[1] != strconv.FormatUint(rn.size+3, 10) {
		t.Fatalf("checkpoint after loading 3 entries onto %d: %q", rn.size, b)
	}
}
