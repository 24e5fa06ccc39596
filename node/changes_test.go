package node_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// readChanges pages through GET /v1/changes from cursor with limit, and
// returns every change and the last cursor.
func readChanges(t *testing.T, c *client.Credentials, base, cursor string, limit string) ([]node.Change, string) {
	t.Helper()
	var all []node.Change
	for {
		var p node.ChangesPage
		if err := c.Get(context.Background(), base+"/v1/changes?limit="+limit+"&since="+url.QueryEscape(cursor), &p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Changes...)
		cursor = p.Next
		if !p.More {
			return all, cursor
		}
	}
}

// TestChangesFeed: listings, an objection, its decision and an expiry
// appear in the changes feed once each, in order, with the listing's state
// now; pages of one give the same feed; a long poll is answered by the
// next change; a notices cursor is refused.
func TestChangesFeed(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	admin, pub, exe := tn.creds["admin"], tn.creds["publisher"], tn.creds["executor"]
	day := func(n int) schemas.Date {
		d := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, n)
		return schemas.NewDate(d.Year(), d.Month(), d.Day())
	}
	expiring := tn.listing(t, 41, func(l *schemas.Listing) { l.PublicityEnd = day(0) }) // expired tomorrow
	rs, err := pub.Submit(ctx, tn.url, tn.listing(t, 40, nil), expiring)
	if err != nil {
		t.Fatal(err)
	}
	l := tn.decodeListing(t, tn.listing(t, 40, nil))
	lref := schemas.Ref{Origin: rs[0].Origin, Index: rs[0].Index, Hash: rs[0].LeafHash}
	got, cursor := readChanges(t, exe, tn.url, "", "1000")
	type cs struct{ change, state string }
	check := func(got []node.Change, want []cs) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("changes %+v, want %v", got, want)
		}
		for i, w := range want {
			if got[i].Change != w.change || got[i].State != w.state {
				t.Fatalf("change %d is %s (state %s), want %s (state %s); all: %+v", i, got[i].Change, got[i].State, w.change, w.state, got)
			}
		}
	}
	check(got, []cs{{"listed", "active"}, {"listed", "active"}})
	if got[0].Listing != lref || got[0].SubjectUSCC != l.Subject.USCC || got[0].Domain != l.Domain || got[0].Cause.Index != lref.Index {
		t.Fatalf("listed change %+v does not name listing %+v", got[0], lref)
	}
	// Two days on, the second listing's expiry is due.
	later, err := tn.n.ChangesAt(cursor, 1000, time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	check(later.Changes, []cs{{"expired", "expired"}})
	if later.Changes[0].Listing.Index != rs[1].Index || later.Changes[0].Cause.Index != rs[1].Index {
		t.Fatalf("expiry %+v, want of %d", later.Changes[0], rs[1].Index)
	}
	if again, err := tn.n.ChangesAt(later.Next, 1000, time.Now().Add(72*time.Hour)); err != nil || len(again.Changes) != 0 {
		t.Fatalf("after the expiry: %+v %v", again, err)
	}
	all, err := tn.n.ChangesAt("", 1000, time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	check(all.Changes, []cs{{"listed", "active"}, {"listed", "expired"}, {"expired", "expired"}})

	// A long poll from the end is answered by the objection.
	polled := make(chan []node.Change, 1)
	go func() {
		var p node.ChangesPage
		err := exe.Get(ctx, tn.url+"/v1/changes?wait=2m&since="+cursor, &p)
		if err != nil {
			t.Error(err)
		}
		polled <- p.Changes
	}()
	now := schemas.NewTime(time.Now())
	obj := &schemas.Objection{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: now}, Target: lref,
		SubjectKey: l.Subject.USCC, Grounds: []string{"fact_error"}, Statement: "罚款已缴清", FiledAt: now, ProvidingUnit: l.Authority}
	oe, _ := admin.Sign(obj)
	ors, err := admin.Submit(ctx, tn.url, oe)
	if err != nil {
		t.Fatal(err)
	}
	if p := <-polled; len(p) == 0 || p[0].Change != "suspended" || p[0].Listing != lref || p[0].Cause.Index != ors[0].Index {
		t.Fatalf("long poll answered %+v, want the suspension of %d by %d", p, lref.Index, ors[0].Index)
	}
	dec := &schemas.ObjectionDecision{Header: schemas.Header{Region: "330000", Submitter: pub.Identity.ID, CreatedAt: now},
		Objection: schemas.Ref{Origin: ors[0].Origin, Index: ors[0].Index, Hash: ors[0].LeafHash}, Decision: "upheld", Actions: []string{"remove"},
		DecidedAt: now, Authority: l.Authority}
	de, _ := pub.Sign(dec)
	if _, err := pub.Submit(ctx, tn.url, de); err != nil {
		t.Fatal(err)
	}
	more, _ := readChanges(t, exe, tn.url, cursor, "1000")
	if len(more) != 2 || more[0].Change != "suspended" || more[1].Change != "removed" || more[1].State != "removed" || more[0].State != "removed" {
		t.Fatalf("after the objection and its decision: %+v", more)
	}
	// The whole feed again, one change a page: the same changes.
	ones, _ := readChanges(t, tn.creds["auditor"], tn.url, "", "1")
	order := []string{}
	for _, c := range ones {
		order = append(order, c.Change)
	}
	if strings.Join(order, ",") != "listed,listed,suspended,removed" {
		t.Fatalf("one change a page: %v", order)
	}
	seen := map[string]bool{}
	for _, c := range ones {
		k := fmt.Sprint(c.Change, c.Cause.Origin, c.Cause.Index)
		if seen[k] {
			t.Fatalf("change %+v twice", c)
		}
		seen[k] = true
	}

	// A notices cursor is not a changes cursor.
	var se *client.SubmitError
	if err := exe.Get(ctx, tn.url+"/v1/changes?since="+node.EncodeCursor('n', 0), new(node.ChangesPage)); !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Error(), "since") {
		t.Fatalf("a notices cursor answered %v", err)
	}
}
