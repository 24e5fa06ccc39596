package node_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// TestLoopLogClosedLoop: with sanctions.loop_log the member's notices and
// the feedback on them go to creditx.<code>/loop, not to its ledger; the
// inbox reads them there, the loop log serves a checkpoint signed by the
// loop key, a batch spanning both logs is refused whole, and after a
// restart the loop log is checked and read as before.
func TestLoopLogClosedLoop(t *testing.T) {
	tn := startNodeWith(t, func(c *node.Config) { c.Sanctions.LoopLog = true })
	ctx := context.Background()
	pub, exe := tn.creds["publisher"], tn.creds["executor"]
	loop := schemas.LoopOrigin("330000")
	before := tn.settledSize(t)
	rs, err := pub.Submit(ctx, tn.url, tn.listing(t, 7, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Origin != schemas.LedgerOrigin("330000") {
		t.Fatalf("listing written to %s", rs[0].Origin)
	}
	var notices []node.NoticeView
	if err := getNotices(ctx, exe, tn.url+"/v1/notices?state=pending&wait=10s", &notices); err != nil {
		t.Fatal(err)
	}
	if len(notices) == 0 {
		t.Fatal("no sanction notices")
	}
	for _, nv := range notices {
		if nv.Origin != loop || len(nv.LeafHash) != 64 {
			t.Fatalf("notice at %s#%d (leaf hash %q), want in %s with its leaf hash", nv.Origin, nv.Index, nv.LeafHash, loop)
		}
	}
	if got := tn.settledSize(t); got != before+1 {
		t.Fatalf("ledger grew from %d to %d for one listing: notices were written to the ledger", before, got)
	}

	// Feedback on a loop notice goes to the loop log and answers it.
	n0 := notices[0]
	fb := func(nv node.NoticeView) []byte {
		h := schemas.Header{Region: "330000", Submitter: exe.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}
		f := &schemas.Feedback{Header: h, Notice: schemas.Ref{Origin: nv.Origin, Index: nv.Index, Hash: nv.LeafHash},
			Agency: schemas.Agency{Name: exe.Identity.Name, USCC: exe.Identity.ID}, Outcome: "applied", CaseRef: "ZJ-LOOP-1", ActedAt: schemas.NewTime(time.Now())}
		e, err := exe.Sign(f)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	frs, err := exe.Submit(ctx, tn.url, fb(n0))
	if err != nil {
		t.Fatal(err)
	}
	if frs[0].Origin != loop {
		t.Fatalf("feedback written to %s, want %s", frs[0].Origin, loop)
	}
	var answered []node.NoticeView
	getNotices(ctx, exe, tn.url+"/v1/notices?state=answered", &answered)
	if len(answered) != 1 || answered[0].Index != n0.Index || answered[0].Origin != loop {
		t.Fatalf("answered notices: %+v", answered)
	}
	// A batch of feedback (loop log) and a listing (ledger): refused whole.
	if len(notices) > 1 {
		_, err := exe.Submit(ctx, tn.url, fb(notices[1]), tn.listing(t, 8, nil))
		var ae *client.SubmitError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "loop log") {
			t.Fatalf("mixed batch: %v, want 400 naming the loop log", err)
		}
	}

	// The loop log's checkpoint verifies with the loop key and counts the
	// notices and the feedback.
	lv := loopVerifier(t, tn)
	checkLoop := func() uint64 {
		code, body := do(t, tn.client("auditor"), "GET", tn.url+"/loop/330000/checkpoint", nil)
		if code != 200 {
			t.Fatalf("GET /loop/330000/checkpoint: %d %s", code, body)
		}
		cp, err := ledger.OpenCheckpoint(body, loop, lv)
		if err != nil {
			t.Fatal(err)
		}
		return cp.Size
	}
	size := checkLoop()
	if size < uint64(len(notices))+1 {
		t.Fatalf("loop checkpoint size %d, want >= %d notices + 1 feedback", size, len(notices))
	}
	if code, _ := do(t, tn.client("auditor"), "GET", tn.url+"/loop/330000/tile/0/000.p/1", nil); code != 200 {
		t.Fatalf("loop hash tile: %d", code)
	}
	if code, _ := do(t, tn.client("auditor"), "GET", tn.url+"/loop/320000/checkpoint", nil); code != 404 {
		t.Fatalf("loop log of another member: %d, want 404", code)
	}

	// Restart: the start-up check verifies the loop log; notices read back.
	tn.stop()
	n2, _ := nodetest.Start(t, tn.cfg)
	tn.n, tn.url = n2, n2.URL()
	deadline := time.Now().Add(10 * time.Second)
	for {
		answered = nil
		err := getNotices(ctx, exe, tn.url+"/v1/notices?state=answered", &answered)
		if err == nil && len(answered) == 1 && answered[0].Origin == loop {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %v %+v", err, answered)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := checkLoop(); got < size {
		t.Fatalf("loop log shrank across a restart: %d -> %d", size, got)
	}
}

// TestLoopLogOffByDefault: without the switch notices stay in the ledger
// and no loop log is served.
func TestLoopLogOffByDefault(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	if _, err := tn.creds["publisher"].Submit(ctx, tn.url, tn.listing(t, 9, nil)); err != nil {
		t.Fatal(err)
	}
	var notices []node.NoticeView
	if err := getNotices(ctx, tn.creds["executor"], tn.url+"/v1/notices?state=pending&wait=10s", &notices); err != nil {
		t.Fatal(err)
	}
	if len(notices) == 0 || notices[0].Origin != schemas.LedgerOrigin("330000") {
		t.Fatalf("notices: %+v, want in the ledger", notices)
	}
	if code, _ := do(t, tn.client("auditor"), "GET", tn.url+"/loop/330000/checkpoint", nil); code != 404 {
		t.Fatalf("loop checkpoint with the loop log off: %d, want 404", code)
	}
}

func loopVerifier(t *testing.T, tn *testNode) note.Verifier {
	t.Helper()
	_, v := noteKeys(t, tn.dir, "loop")
	return v
}
