package node_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// firstNotice waits (long poll) for the first notice addressed to the dev
// executor and returns it.
func (tn *testNode) firstNotice(t *testing.T) node.NoticeView {
	t.Helper()
	var p node.NoticesPage
	if err := tn.creds["executor"].Get(context.Background(), tn.url+"/v1/notices?limit=1&wait=30s", &p); err != nil || len(p.Notices) == 0 {
		t.Fatalf("no notice for the executor: %v %+v", err, p)
	}
	return p.Notices[0]
}

// TestNoticesCursorConcurrent pages through more than 10,000 notices while
// the credit office keeps issuing them: every notice is returned exactly
// once, in ledger order, and the pages end with every notice the ledger
// holds for the agency.
func TestNoticesCursorConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 10,500 notices")
	}
	tn := startNode(t)
	ctx := context.Background()
	admin, exe := tn.creds["admin"], tn.creds["executor"]
	// A few listings, so that no listing has all the notices (a notice's
	// state reads its listing's references).
	const listings = 10
	var batch [][]byte
	for i := range listings {
		batch = append(batch, tn.listing(t, uint64(500+i), nil))
	}
	rs, err := tn.creds["publisher"].Submit(ctx, tn.url, batch...)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := tn.firstNotice(t).Notice
	const perBatch, batches = 500, 21 // 10,500 notices besides the engine's own
	writeErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(writeErr)
		base := time.Now().UTC()
		for b := range batches {
			var es [][]byte
			for i := range perBatch {
				k := b*perBatch + i
				nt := *tmpl
				r := rs[k%listings]
				nt.Listing = schemas.Ref{Origin: r.Origin, Index: r.Index, Hash: r.LeafHash}
				nt.CreatedAt = schemas.NewTime(base.Add(-time.Duration(k) * time.Second)) // created_at has whole seconds; a same record is one entry
				e, err := admin.Sign(&nt)
				if err != nil {
					writeErr <- err
					return
				}
				es = append(es, e)
			}
			if _, err := admin.Submit(ctx, tn.url, es...); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	seen := map[uint64]bool{}
	var last uint64
	cursor := ""
	pages := 0
	read := func(limit int, wait string) node.NoticesPage {
		t.Helper()
		var p node.NoticesPage
		u := tn.url + "/v1/notices?limit=" + strconv.Itoa(limit) + "&wait=" + wait + "&since=" + url.QueryEscape(cursor)
		if err := exe.Get(ctx, u, &p); err != nil {
			t.Fatal(err)
		}
		if p.Next == "" {
			t.Fatal("answer without a next cursor")
		}
		for _, v := range p.Notices {
			if seen[v.Index] {
				t.Fatalf("notice %d returned twice (page %d)", v.Index, pages)
			}
			if len(seen) > 0 && v.Index <= last {
				t.Fatalf("notice %d after %d: not in ledger order", v.Index, last)
			}
			seen[v.Index], last = true, v.Index
		}
		if len(p.Notices) > limit {
			t.Fatalf("%d notices in a page of limit %d", len(p.Notices), limit)
		}
		cursor = p.Next
		pages++
		return p
	}
	done := false
	for !done {
		select {
		case err, open := <-writeErr:
			if err != nil {
				t.Fatalf("issuing: %v", err)
			}
			if !open {
				done = true
			}
		default:
		}
		// Odd page sizes, so that pages end in the middle of batches.
		// Long polls: an empty page waits for the next batch.
		read(1+pages%7*137, "10s")
	}
	wg.Wait()
	tn.settledSize(t) // the engine's own notices for the later listings
	for read(1000, "0s").More {
	}
	// Every notice the node holds for the agency, read afresh in one pass.
	all := map[uint64]bool{}
	cursor = ""
	for {
		var p node.NoticesPage
		if err := exe.Get(ctx, tn.url+"/v1/notices?limit=1000&since="+url.QueryEscape(cursor), &p); err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Notices {
			all[v.Index] = true
		}
		cursor = p.Next
		if !p.More {
			break
		}
	}
	if len(all) < perBatch*batches {
		t.Fatalf("the node holds %d notices for the agency, want at least %d", len(all), perBatch*batches)
	}
	for i := range all {
		if !seen[i] {
			t.Fatalf("notice %d was missed by the pages read while issuing (%d of %d seen)", i, len(seen), len(all))
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("the pages returned %d notices, the node holds %d", len(seen), len(all))
	}
	t.Logf("%d notices in %d pages", len(seen), pages)
}

// TestNoticesLongPoll: a read at the end of the feed with wait= is held and
// answered with the notice issued meanwhile, and with an empty page and the
// same position when nothing comes.
func TestNoticesLongPoll(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	exe := tn.creds["executor"]
	var p node.NoticesPage
	if err := exe.Get(ctx, tn.url+"/v1/notices", &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Notices) != 0 || p.More || p.Next == "" {
		t.Fatalf("empty ledger answered %+v", p)
	}
	// Nothing arrives: an empty page, and its cursor still starts before
	// the first notice to come.
	var empty node.NoticesPage
	if err := exe.Get(ctx, tn.url+"/v1/notices?wait=10ms&since="+p.Next, &empty); err != nil {
		t.Fatal(err)
	}
	if len(empty.Notices) != 0 {
		t.Fatalf("wait answered %+v", empty)
	}
	// A long poll is waiting when the listing is submitted (its notices are
	// issued afterwards in any case: the poll cannot see them early).
	got := make(chan node.NoticesPage, 1)
	errc := make(chan error, 1)
	go func() {
		var lp node.NoticesPage
		errc <- exe.Get(ctx, tn.url+"/v1/notices?wait=2m&since="+empty.Next, &lp)
		got <- lp
	}()
	if _, err := tn.creds["publisher"].Submit(ctx, tn.url, tn.listing(t, 31, nil)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	lp := <-got
	if len(lp.Notices) == 0 {
		t.Fatalf("long poll answered without the new notice: %+v", lp)
	}
	if lp.Notices[0].Notice == nil || lp.Notices[0].Notice.ExecutingAgency.USCC != exe.Identity.ID {
		t.Fatalf("long poll answered %+v", lp.Notices[0])
	}
}

// TestNoticesBadParameters: each bad parameter answers 400 naming it.
func TestNoticesBadParameters(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	exe := tn.creds["executor"]
	changesCursor := node.EncodeCursor('c', 3, 0, 0)
	bad := map[string]string{
		"since=@@@":                         "since",
		"since=AAAA":                        "since",
		"since=" + changesCursor:            "since",
		"since=" + strings.Repeat("A", 100): "since",
		"limit=0":                           "limit",
		"limit=1001":                        "limit",
		"limit=-1":                          "limit",
		"limit=ten":                         "limit",
		"wait=forever":                      "wait",
		"wait=6m":                           "wait",
		"state=bogus":                       "state",
		"since=" + base64.RawURLEncoding.EncodeToString([]byte{2, 'n', 0, 0, 0, 0, 0, 0, 0, 0}): "since",
	}
	for q, field := range bad {
		var p node.NoticesPage
		err := exe.Get(ctx, tn.url+"/v1/notices?"+q, &p)
		var se *client.SubmitError
		if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Error(), field) {
			t.Errorf("%s answered %v, want 400 naming %s", q, err, field)
		}
	}
	var se *client.SubmitError
	if err := tn.creds["admin"].Get(ctx, tn.url+"/v1/notices?agency=12345", new(node.NoticesPage)); !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Error(), "agency") {
		t.Errorf("agency=12345 answered %v, want 400 naming agency", err)
	}
	var p node.NoticesPage
	if err := exe.Get(ctx, tn.url+"/v1/notices?limit=1000&since="+node.EncodeCursor('n', 1<<40), &p); err != nil || len(p.Notices) != 0 {
		t.Errorf("a cursor past the end answered %v %+v", err, p)
	}
}
