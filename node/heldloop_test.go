package node_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
)

// TestHeldLoopReadFailureIs500: GET /loop/<code>/checkpoint of another
// member's loop log is 404 while this member holds no copy of it, and
// 500 when ledger.db cannot be read: a failed read is served as the
// failure, not hidden as "not held" (heldLoop, notices.go). The node is
// built by New (its exchange runtime too) and not run, so nothing else
// reads the closed store.
func TestHeldLoopReadFailureIs500(t *testing.T) {
	specs := append([]provision.MemberSpec(nil), deltaMembers[:2]...)
	addrs := freeAddrs(t, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	cfgs, _, err := provision.PrepareConsortium(t.TempDir(), specs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	cfg.Sanctions.LoopLog = true
	other := cfgs[1].Region
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Cleanup(func() { n.Run(ctx) }) // ended: Run only shuts down what New opened
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		n.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/loop/"+other+"/checkpoint", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusNotFound {
		t.Fatalf("loop checkpoint of %s, no copy held: %d %.200s, want 404", other, code, body)
	}
	if err := node.CloseLedgerForTest(n); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusInternalServerError {
		t.Errorf("loop checkpoint of %s with ledger.db unreadable: %d %.200s, want 500 (the read failure, not 404)", other, code, body)
	}
}
