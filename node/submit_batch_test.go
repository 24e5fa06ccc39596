package node_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestSubmitBatchReceipt submits NDJSON with ?proofs=batch: new records, a
// record already in the ledger and one repeated within the batch. The batch
// receipt verifies with the log key and rebuilds per-record receipts in the
// JSON path's form (tlog-proofs of the records submitted); a flipped
// range-proof hash or leaf hash does not verify.
func TestSubmitBatchReceipt(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub := tn.creds["publisher"]
	old := tn.listing(t, 1, nil)
	first, err := pub.Submit(ctx, tn.url, old)
	if err != nil {
		t.Fatal(err)
	}
	// The first listing's sanction notices are appended after it: wait
	// until they are in, so the batch's range starts at a known index.
	next := tn.settledSize(t)
	a, b := tn.listing(t, 2, nil), tn.listing(t, 3, nil)
	batch := [][]byte{a, old, b, a}
	br, err := pub.SubmitBatch(ctx, tn.url, batch...)
	if err != nil {
		t.Fatal(err)
	}
	if br.Count != 2 || br.First != next || next <= first[0].Index || len(br.RangeProof) == 0 {
		t.Errorf("range [%d, +%d) with %d proof hashes, want [%d, +2) (the first listing at %d)", br.First, br.Count, len(br.RangeProof), next, first[0].Index)
	}
	vkeys, _ := filepath.Glob(filepath.Join(tn.dir, "keys", "*.vkey"))
	var v note.Verifier
	for _, f := range vkeys {
		b, _ := os.ReadFile(f)
		if vv, err := note.NewVerifier(string(bytes.TrimSpace(b))); err == nil && vv.Name() == schemas.LedgerOrigin("330000") {
			v = vv
		}
	}
	if v == nil {
		t.Fatalf("no log vkey among %v", vkeys)
	}
	got, err := client.BatchReceipts(br, v)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Index != first[0].Index || !got[1].Duplicate || got[3].Index != got[0].Index {
		t.Errorf("indices %d %d %d %d: the old record keeps %d, the repeat shares the first copy's", got[0].Index, got[1].Index, got[2].Index, got[3].Index, first[0].Index)
	}
	// Each rebuilt receipt is a tlog-proof of the submitted record itself
	// (the old one's first copy) at the signed checkpoint.
	for i, r := range got {
		p, err := ledger.ParseProof([]byte(r.Proof))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		cp, err := ledger.OpenCheckpoint(p.Checkpoint, schemas.LedgerOrigin("330000"), v)
		if err != nil {
			t.Fatal(err)
		}
		lh := tlog.RecordHash(batch[i])
		if hex.EncodeToString(lh[:]) != r.LeafHash || !bytes.Equal(p.Extra, lh[:]) || p.Index != r.Index {
			t.Errorf("record %d: receipt is not for the record submitted", i)
		}
		if err := tlog.CheckRecord(p.Hashes, int64(cp.Size), cp.Root, int64(p.Index), lh); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		bad  func(*node.BatchReceipt)
	}{
		{"range proof hash", func(b *node.BatchReceipt) {
			h, _ := base64.StdEncoding.DecodeString(b.RangeProof[0])
			h[3] ^= 1
			b.RangeProof[0] = base64.StdEncoding.EncodeToString(h)
		}},
		{"leaf hash", func(b *node.BatchReceipt) { b.Records[2].LeafHash = b.Records[1].LeafHash }},
		{"range moved", func(b *node.BatchReceipt) { b.First-- }},
		{"old record's proof", func(b *node.BatchReceipt) { b.Records[1].InclusionProof = b.Records[1].InclusionProof[1:] }},
	} {
		j, _ := json.Marshal(br)
		var c node.BatchReceipt
		json.Unmarshal(j, &c)
		tc.bad(&c)
		if _, err := client.BatchReceipts(&c, v); err == nil {
			t.Errorf("%s changed: receipts still verify", tc.name)
		}
	}
	// The NDJSON body is checked like a JSON array: empty, too many.
	for _, tc := range []struct {
		body string
		want int
	}{{"\n\n", http.StatusBadRequest}, {string(bytes.Repeat(append(a, '\n'), 1001)), http.StatusRequestEntityTooLarge}} {
		req, _ := http.NewRequest(http.MethodPost, tn.url+"/v1/records?proofs=batch", bytes.NewReader([]byte(tc.body)))
		req.Header.Set("Content-Type", node.NDJSONContentType)
		resp, err := pub.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("body of %d bytes: %d, want %d", len(tc.body), resp.StatusCode, tc.want)
		}
	}
}

// TestAdmissionParallelKeepsOrder: a batch large enough to be admitted on
// several goroutines (internal/admission parallel.go) reports its bad records in
// batch order, with their positions, and writes nothing.
func TestAdmissionParallelKeepsOrder(t *testing.T) {
	tn := startNode(t)
	bad := map[int]bool{3: true, 17: true, 38: true}
	var batch [][]byte
	for i := range 40 {
		batch = append(batch, tn.listing(t, uint64(100+i), func(l *schemas.Listing) {
			if bad[i] {
				l.Region = "310000"
			}
		}))
	}
	_, err := tn.creds["publisher"].Submit(context.Background(), tn.url, batch...)
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v, want a 422 SubmitError", err)
	}
	var got []int
	for _, fe := range se.Body.Errors {
		if fe.Field == "record.region" {
			got = append(got, fe.Record)
		}
	}
	if fmt.Sprint(got) != "[3 17 38]" {
		t.Errorf("region errors for records %v, want [3 17 38]:\n%v", got, se)
	}
}
