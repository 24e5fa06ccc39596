package node_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// TestClosedLoopOneMember: a listing yields sanction notices for the
// member's executing agency; the agency long-polls them, answers one; checks
// say restricted for procurement with the measure cited; an objection
// suspends disclosure; the providing unit upholds it with removal; checks turn
// to allowed, notices are lifted, and the history stays.
func TestClosedLoopOneMember(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub, exe, admin := tn.creds["publisher"], tn.creds["executor"], tn.creds["admin"]
	entry := tn.listing(t, 42, nil)
	rs, err := pub.Submit(ctx, tn.url, entry)
	if err != nil {
		t.Fatal(err)
	}
	lref := schemas.Ref{Origin: rs[0].Origin, Index: rs[0].Index, Hash: rs[0].LeafHash}
	l := tn.decodeListing(t, entry)

	var notices []node.NoticeView
	if err := getNotices(ctx, exe, tn.url+"/v1/notices?state=pending&wait=10s", &notices); err != nil {
		t.Fatal(err)
	}
	if len(notices) == 0 {
		t.Fatal("no sanction notices for the executing agency")
	}
	for _, nv := range notices {
		if nv.Notice.Listing != lref || nv.Notice.ExecutingAgency.USCC != exe.Identity.ID || nv.Notice.FeedbackDue.IsZero() || nv.Notice.Measure.CatalogueVersion == "" {
			t.Fatalf("notice does not cite the listing, agency, deadline and catalogue: %+v", nv.Notice)
		}
	}
	// Feedback on the first notice.
	n0 := notices[0]
	h := schemas.Header{Region: "330000", Submitter: exe.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}
	nref := schemas.Ref{Origin: n0.Origin, Index: n0.Index, Hash: tn.leafHash(t, n0.Origin, n0.Index)}
	fb := &schemas.Feedback{Header: h, Notice: nref, Agency: schemas.Agency{Name: exe.Identity.Name, USCC: exe.Identity.ID}, Outcome: "applied", CaseRef: "ZJ-PROC-2026-001", ActedAt: schemas.NewTime(time.Now())}
	fe, err := exe.Sign(fb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exe.Submit(ctx, tn.url, fe); err != nil {
		t.Fatal(err)
	}
	var answered []node.NoticeView
	getNotices(ctx, exe, tn.url+"/v1/notices?state=answered", &answered)
	if len(answered) != 1 || answered[0].Index != n0.Index {
		t.Fatalf("answered notices: %+v", answered)
	}

	check := func(action string) node.CheckAnswer {
		var a node.CheckAnswer
		if err := exe.Get(ctx, tn.url+"/v1/check?subject="+l.Subject.USCC+"&action="+action, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := check("procurement"); a.Result != "restricted" || len(a.Measures) == 0 || len(a.Listings) != 1 || len(a.Listings[0].InclusionProof) == 0 {
		t.Fatalf("check procurement before objection: %+v", a)
	}
	// A check as of before the listing says allowed.
	var before node.CheckAnswer
	exe.Get(ctx, tn.url+"/v1/check?subject="+l.Subject.USCC+"&action=procurement&at="+url.QueryEscape(l.ListedOn.AddDate(0, 0, -10).Format(time.RFC3339)), &before)
	if before.Result != "allowed" {
		t.Fatalf("check before listing date: %s", before.Result)
	}

	// Objection, filed by the credit office for the subject.
	ah := schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}
	obj := &schemas.Objection{Header: ah, Target: lref, SubjectKey: l.Subject.USCC, Grounds: []string{"wrong_listing"},
		Statement: "the penalty decision was revoked on review", FiledAt: schemas.NewTime(time.Now()), ProvidingUnit: l.Authority}
	oe, _ := admin.Sign(obj)
	ors, err := admin.Submit(ctx, tn.url, oe)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := do(t, tn.client("public"), "GET", fmt.Sprintf("%s/v1/records/330000/%d", tn.url, lref.Index), nil)
	if code != 404 {
		t.Errorf("public view of a listing under objection: %d, want 404 (disclosure suspended)", code)
	}
	// The providing unit upholds it and removes the listing.
	ph := schemas.Header{Region: "330000", Submitter: pub.Identity.ID, CreatedAt: schemas.NewTime(time.Now())}
	dec := &schemas.ObjectionDecision{Header: ph, Objection: schemas.Ref{Origin: ors[0].Origin, Index: ors[0].Index, Hash: ors[0].LeafHash},
		Decision: "upheld", Actions: []string{"remove"}, DecidedAt: schemas.NewTime(time.Now()), Authority: l.Authority}
	de, _ := pub.Sign(dec)
	if _, err := pub.Submit(ctx, tn.url, de); err != nil {
		t.Fatal(err)
	}
	var after node.CheckAnswer
	exe.Get(ctx, tn.url+"/v1/check?subject="+l.Subject.USCC+"&action=procurement&at="+url.QueryEscape(time.Now().Add(2*time.Second).UTC().Format(time.RFC3339)), &after)
	if after.Result != "allowed" || len(after.Listings) != 1 || after.Listings[0].State != node.StateRemoved {
		t.Fatalf("check after upheld objection: %+v", after)
	}
	var lifted []node.NoticeView
	getNotices(ctx, exe, tn.url+"/v1/notices?state=lifted", &lifted)
	if len(lifted) == 0 {
		t.Error("no notice lifted after removal")
	}
}

func (tn *testNode) decodeListing(t *testing.T, e []byte) *schemas.Listing {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Decode()
	if err != nil {
		t.Fatal(err)
	}
	return r.(*schemas.Listing)
}

func (tn *testNode) leafHash(t *testing.T, origin string, index uint64) string {
	var rv node.RecordView
	if err := tn.creds["auditor"].Get(context.Background(), fmt.Sprintf("%s/v1/records/330000/%d", tn.url, index), &rv); err != nil {
		t.Fatal(err)
	}
	return rv.LeafHash
}
