package client

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/api"
	"golang.org/x/mod/sumdb/tlog"
)

// TestBatchReceiptsOneLeaf: a receipt for the only entry of a tree of size
// one verifies without a verifier (form only) and yields a tlog-proof; a
// wrong leaf hash, an index past the tree or a checkpoint of another
// origin is refused with no receipts.
func TestBatchReceiptsOneLeaf(t *testing.T) {
	const origin = "creditx.330000/ledger"
	lh := tlog.RecordHash([]byte("entry"))
	cp := fmt.Sprintf("%s\n1\n%s\n\n— key sig\n", origin, base64.StdEncoding.EncodeToString(lh[:]))
	good := api.BatchReceipt{Origin: origin, Checkpoint: cp, Records: []api.BatchRecord{{Index: 0, LeafHash: hex.EncodeToString(lh[:])}}}
	rs, err := BatchReceipts(&good, nil)
	if err != nil || len(rs) != 1 || !strings.Contains(rs[0].Proof, "c2sp.org/tlog-proof") {
		t.Fatalf("BatchReceipts = %+v, %v; want one receipt with a tlog-proof", rs, err)
	}
	bad := good
	other := tlog.RecordHash([]byte("other"))
	bad.Records = []api.BatchRecord{{Index: 0, LeafHash: hex.EncodeToString(other[:])}}
	if rs, err := BatchReceipts(&bad, nil); err == nil || rs != nil {
		t.Error("a wrong leaf hash verified")
	}
	bad.Records = []api.BatchRecord{{Index: 1, LeafHash: hex.EncodeToString(lh[:])}}
	if _, err := BatchReceipts(&bad, nil); err == nil {
		t.Error("an index past the checkpoint verified")
	}
	bad = good
	bad.Origin = "creditx.110000/ledger"
	if _, err := BatchReceipts(&bad, nil); err == nil {
		t.Error("a checkpoint of another origin verified")
	}
}

// TestHashesWireForm: what the node encodes (api.EncodeHashes) the client
// decodes back to the same hashes, and a hash of the wrong size is refused.
func TestHashesWireForm(t *testing.T) {
	p := []tlog.Hash{tlog.RecordHash([]byte("a")), tlog.RecordHash([]byte("b"))}
	got, err := decodeB64Hashes(api.EncodeHashes(p))
	if err != nil || len(got) != 2 || got[0] != p[0] || got[1] != p[1] {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	if _, err := decodeB64Hashes([]string{"AAAA"}); err == nil {
		t.Fatal("a 3-byte hash decoded")
	}
}
