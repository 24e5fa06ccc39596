package node_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestWitnessedReceipt: a witnessed submission to a 3-member exchange
// answers receipts that verify offline against the manifest's witness
// quorum; GET /v1/proof gives one for a mirrored entry at another member;
// with the witnesses down the submission answers 504 naming the quorum.
func TestWitnessedReceipt(t *testing.T) {
	ms, m := startConsortium(t, append([]provision.MemberSpec(nil), deltaMembers[:3]...))
	zj := ms["330000"]
	ctx := context.Background()
	e1, _ := zj.listing(t, 1)
	e2, _ := zj.listing(t, 2)
	rs, err := zj.creds["publisher"].SubmitWitnessed(ctx, zj.n.URL(), 30*time.Second, e1, e2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d receipts", len(rs))
	}
	for i, e := range [][]byte{e1, e2} {
		v, err := m.VerifyReceiptFor([]byte(rs[i].Proof), e)
		if err != nil {
			t.Fatalf("receipt %d: %v\n%s", i, err, rs[i].Proof)
		}
		if v.Member != "330000" || v.Index != rs[i].Index || len(v.Cosigners) < m.WitnessQuorum || len(rs[i].Witnesses) < m.WitnessQuorum {
			t.Fatalf("receipt %d: verified %+v, witnesses %v", i, v, rs[i].Witnesses)
		}
		for _, c := range v.Cosigners {
			if c.Time.IsZero() || c.Witness == schemas.WitnessOrigin("330000") {
				t.Errorf("cosigner %+v: no timestamp, or the member's own witness", c)
			}
		}
		// Without the record, the leaf hash of the extra line is checked.
		if _, err := m.VerifyReceipt([]byte(rs[i].Proof)); err != nil {
			t.Fatalf("receipt %d without the record: %v", i, err)
		}
	}
	if _, err := m.VerifyReceiptFor([]byte(rs[0].Proof), e2); err == nil {
		t.Fatal("receipt 0 verified for record 2")
	}

	// Another member serves the receipt of the mirrored entry, once mirrored.
	sh := ms["310000"]
	var rc node.Receipt
	eventually(t, 20*time.Second, "310000 serves a proof of 330000's entry", func() bool {
		return sh.creds["auditor"].Get(ctx, sh.n.URL()+"/v1/proof/330000/"+itoa(rs[1].Index), &rc) == nil
	})
	if _, err := m.VerifyReceiptFor([]byte(rc.Proof), e2); err != nil {
		t.Fatalf("mirror's receipt: %v\n%s", err, rc.Proof)
	}
	var se *client.SubmitError
	if err := sh.creds["auditor"].Get(ctx, sh.n.URL()+"/v1/proof/330000/999999", &rc); !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Errorf("proof beyond the log: %v", err)
	}

	// The provenance of the entry, read from the live node with the
	// auditor's certificate and checked against the manifest alone.
	tr, err := audit.LoadManifest(zj.cfg.Exchange.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var p *audit.Provenance
	var lastErr error
	t.Cleanup(func() {
		if t.Failed() && lastErr != nil {
			t.Logf("last provenance error: %v", lastErr)
		}
	})
	eventually(t, 20*time.Second, "330000's served checkpoint covers the entry", func() bool {
		in, err := audit.FromNodes(ctx, zj.creds["auditor"].Client, []string{zj.n.URL()}, []string{"310000", "320000", "330000"}, tr)
		if err != nil {
			t.Fatal(err)
		}
		p, lastErr = audit.BuildProvenance(ctx, in, "creditx.330000/ledger", rs[1].Index)
		return lastErr == nil
	})
	if p.LeafHash != rs[1].LeafHash || !p.Checkpoint.Witnessed || p.Signer.RegisteredAt >= rs[1].Index || p.Signer.Anchor {
		t.Fatalf("provenance from the node: leaf %s (receipt %s), witnessed %v, signer %+v", p.LeafHash, rs[1].LeafHash, p.Checkpoint.Witnessed, p.Signer)
	}

	// Both witnesses down: 2 cosignatures by other members can never come.
	ms["310000"].stop()
	ms["320000"].stop()
	e3, _ := zj.listing(t, 3)
	_, err = zj.creds["publisher"].SubmitWitnessed(ctx, zj.n.URL(), 300*time.Millisecond, e3)
	if !errors.As(err, &se) || se.Status != http.StatusGatewayTimeout || !strings.Contains(se.Body.Error, "witness_quorum 2") {
		t.Fatalf("without witnesses: %v, want 504 naming witness_quorum 2", err)
	}
	// A bad wait is refused before anything is written.
	_, err = zj.creds["publisher"].SubmitWitnessed(ctx, zj.n.URL(), time.Hour, e3)
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Fatalf("wait=1h: %v, want 400", err)
	}
}

func itoa(i uint64) string { return strconv.FormatUint(i, 10) }
