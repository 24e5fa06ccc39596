package node_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
)

// TestMirrorStateNoCheckpoint: a member whose origin has published no
// checkpoint yet (its ledger is empty: the origin answers 404) says so in
// its mirror's status, in GET /v1/exchange and on the status page; once
// the origin publishes (its first records), the state is mirroring and the
// mirror fills.
func TestMirrorStateNoCheckpoint(t *testing.T) {
	specs := []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "320000", Name: "Jiangsu"}}
	ms, _ := startConsortiumUnseeded(t, specs, nil, nil)
	a, b := ms["310000"], ms["320000"]
	auditor := a.creds["auditor"]
	jsonState := func() (node.MirrorStatus, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var st node.ExchangeStatus
		if err := auditor.Get(ctx, a.n.URL()+"/v1/exchange", &st); err != nil {
			return node.MirrorStatus{}, err
		}
		for _, m := range st.Mirrors {
			if m.Code == b.code {
				return m, nil
			}
		}
		t.Fatalf("GET /v1/exchange of %s lists no mirror of %s: %+v", a.code, b.code, st.Mirrors)
		return node.MirrorStatus{}, nil
	}
	var last node.MirrorStatus
	var lastErr error
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last GET /v1/exchange mirror of %s: %+v, error %v", b.code, last, lastErr)
		}
	})
	eventually(t, 2*time.Minute, "the mirror of an origin without a checkpoint to say so", func() bool {
		last, lastErr = jsonState()
		return lastErr == nil && last.State == exchange.MirrorNoCheckpoint
	})
	if last.Size != 0 || last.Checkpoint != 0 {
		t.Fatalf("mirror of an empty origin: %+v", last)
	}
	if st := a.mirror(t, b.code); st.State != exchange.MirrorNoCheckpoint {
		t.Fatalf("ExchangeStatus: state %q, want %q", st.State, exchange.MirrorNoCheckpoint)
	}
	resp, err := auditor.Client.Get(a.n.URL() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(page), `id="no-checkpoint"`); i < 0 || !strings.Contains(string(page[i:]), "<code>"+b.code+"</code>") {
		t.Fatalf("status page does not name %s as having no checkpoint:\n%s", b.code, page)
	}

	b.seed(t) // the origin's first records, and so its first checkpoint
	eventually(t, 2*time.Minute, "the mirror to fill once the origin published", func() bool {
		last, lastErr = jsonState()
		return lastErr == nil && last.State == exchange.MirrorMirroring && last.Size > 0
	})
	if st := a.mirror(t, b.code); st.State != exchange.MirrorMirroring || st.Size == 0 {
		t.Fatalf("ExchangeStatus after the origin published: %+v", st)
	}
}
