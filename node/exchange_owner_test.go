package node_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestDrillCrossMemberFeedback: in a 2-member exchange, an executing agency
// of Shanghai tries to answer, in Shanghai's ledger, a notice Zhejiang
// issued to a Zhejiang agency (naming that agency). Shanghai refuses it at
// admission with a field error naming the notice and its addressee, and
// Zhejiang's notice stays unanswered (issue 12 "binding").
func TestDrillCrossMemberFeedback(t *testing.T) {
	ms, _ := startConsortiumWith(t, []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "330000", Name: "Zhejiang"}},
		func(m *exchange.Manifest) { m.WitnessQuorum = 1 })
	ctx := context.Background()
	sh, zj := ms["310000"], ms["330000"]
	load := func(mb *member, name string) *client.Credentials {
		c, err := client.LoadCredentials(filepath.Join(mb.cfg.DataDir, "agencies", name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	zjExe, shExe := load(zj, "executor"), load(sh, "executor")
	e, _ := zj.listing(t, 8)
	if _, err := zj.creds["publisher"].Submit(ctx, zj.n.URL(), e); err != nil {
		t.Fatal(err)
	}
	var notices []node.NoticeView
	if err := getNotices(ctx, zjExe, zj.n.URL()+"/v1/notices?state=pending&wait=10s", &notices); err != nil || len(notices) == 0 {
		t.Fatalf("no Zhejiang notices: %v", err)
	}
	n0 := notices[0]
	eventually(t, 20*time.Second, "Shanghai mirrors Zhejiang's notice", func() bool { return sh.mirror(t, "330000").Size > n0.Index })
	var rv node.RecordView
	if err := zj.creds["auditor"].Get(ctx, zj.n.URL()+"/v1/records/330000/"+strconv.FormatUint(n0.Index, 10), &rv); err != nil {
		t.Fatal(err)
	}
	nref := schemas.Ref{Origin: n0.Origin, Index: n0.Index, Hash: rv.LeafHash}
	now := schemas.NewTime(time.Now())
	fb := &schemas.Feedback{Header: schemas.Header{Region: "310000", Submitter: shExe.Identity.ID, CreatedAt: now}, Notice: nref,
		Agency: schemas.Agency{Name: zjExe.Identity.Name, USCC: zjExe.Identity.ID}, Outcome: "applied", ActedAt: now}
	fe, err := shExe.Sign(fb)
	if err != nil {
		t.Fatal(err)
	}
	_, err = shExe.Submit(ctx, sh.n.URL(), fe)
	var se *client.SubmitError
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("Shanghai answered %v, want 403", err)
	}
	for _, want := range []string{"record.notice", "creditx.330000/ledger#", zjExe.Identity.ID} {
		if !strings.Contains(se.Error(), want) {
			t.Errorf("refusal does not name %q: %s", want, se.Error())
		}
	}
	var answered []node.NoticeView
	if err := getNotices(ctx, zjExe, zj.n.URL()+"/v1/notices?state=answered", &answered); err != nil {
		t.Fatalf("listing answered notices: %v", err)
	}
	if len(answered) != 0 {
		t.Fatalf("Zhejiang shows answered notices after only forged feedback: %+v", answered)
	}
}
