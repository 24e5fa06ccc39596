package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestDrillRogueAgencyWithdrawal: a publisher registered for tourism only
// withdraws an environment listing of another authority: 403 naming the
// target and its rightful owner, nothing written, the subject still
// restricted (issue 11 item 1; the other owner drills are in node
// TestDrillRogueAgencies, TestDrillCrossMemberFeedback and
// TestDrillStolenReplicaCertificate).
func TestDrillRogueAgencyWithdrawal(t *testing.T) {
	d := startDrillNode(t)
	ctx := context.Background()
	tourism := nodetest.Agency(t, d.dir, d.url, d.creds["admin"], "tourism", pki.Identity{Role: pki.RolePublish, Region: "330000", Kind: pki.KindAgency,
		ID: provision.DevUSCC("330000", "MB000021"), Name: "Culture and Tourism Department (drill)", Domains: []string{"tourism"}})
	rs, err := d.creds["publisher"].Submit(ctx, d.url, d.listing(t, 8)) // 8 % 4: environment (internal/synth)
	if err != nil {
		t.Fatal(err)
	}
	// let the notices of the listing be issued: the size stays put for a second
	before := d.size(t)
	for stable := 0; stable < 10; {
		time.Sleep(100 * time.Millisecond)
		if s := d.size(t); s == before {
			stable++
		} else {
			before, stable = s, 0
		}
	}
	w, err := tourism.Sign(&schemas.Correction{Header: schemas.Header{Region: "330000", Submitter: tourism.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Target: schemas.Ref{Origin: rs[0].Origin, Index: rs[0].Index, Hash: rs[0].LeafHash}, Action: "withdraw", Reason: "rogue"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tourism.Submit(ctx, d.url, w)
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Error(), d.creds["publisher"].Identity.ID) {
		t.Fatalf("rogue withdrawal answered %v, want 403 naming the rightful owner", err)
	}
	if after := d.size(t); after != before {
		t.Fatalf("ledger grew from %d to %d after a refused withdrawal", before, after)
	}
}
