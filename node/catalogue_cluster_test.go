package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	gov "github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
)

// catalogueVariant writes the embedded catalogue as version v with every
// programme's feedback deadline set to days working days, and loads it.
func catalogueVariant(t *testing.T, dir, v, days string) (string, *catalogue.Catalogue) {
	t.Helper()
	b := catalogue.DefaultFile()
	b = bytes.Replace(b, []byte(`version: "2026.2"`), []byte(`version: "`+v+`"`), 1)
	b = bytes.ReplaceAll(b, []byte("feedback_workdays: 10"), []byte("feedback_workdays: "+days))
	p := filepath.Join(dir, "catalogue-"+v+".yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := catalogue.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// replicaNotices is every notice to the dev executor as replica p sees it
// (each replica reads its own FSM).
func (c *cluster) replicaNotices(t *testing.T, p *proc) []node.NoticeView {
	t.Helper()
	var vs []node.NoticeView
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := getNotices(ctx, c.creds["auditor"], p.url+"/v1/notices?state=all&limit=1000&agency="+c.creds["executor"].Identity.ID, &vs); err != nil {
		t.Fatalf("%s: notices: %v", p.id, err)
	}
	return vs
}

// waitNotices waits until every replica shows notices for the listing at
// index and returns them by replica.
func (c *cluster) waitNotices(t *testing.T, index uint64, ok func(node.NoticeView) bool) [][]node.NoticeView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var all [][]node.NoticeView
		done := true
		for _, p := range c.procs {
			var mine []node.NoticeView
			for _, v := range c.replicaNotices(t, p) {
				if v.Notice.Listing.Index == index {
					mine = append(mine, v)
				}
			}
			n := 0
			for _, v := range mine {
				if ok(v) {
					n++
				}
			}
			done = done && len(mine) > 0 && n == len(mine)
			all = append(all, mine)
		}
		if done {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices of listing %d not as expected on every replica: %+v", index, all)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sameOnEveryReplica(t *testing.T, what string, per [][]node.NoticeView) {
	t.Helper()
	var first []byte
	for i, vs := range per {
		b, _ := json.Marshal(vs)
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("%s: replica %d differs:\n%s\nvs\n%s", what, i, b, first)
		}
	}
}

// Issue 12 items 3 and 4 on a real 3-replica raft cluster (real processes):
// a catalogue_adopt with an unknown hash is refused with a field error and
// writes nothing; an adoption takes effect from its index on all three
// replicas (GET /v1/catalogue, notices issued later cite it); a notice issued
// with a provisional 2027 deadline is recomputed identically on every replica
// once a 2027 calendar is adopted. The leader stamps real time, so the
// initial catalogue gives every programme 40 working days for feedback:
// issued in December 2026, the deadline lands in 2027.
func TestClusterCatalogueAndCalendarAdoption(t *testing.T) {
	if time.Now().Year() > 2027 {
		t.Skip("the 2027 test calendar no longer covers deadlines counted from today")
	}
	cdir := t.TempDir()
	initial, v3 := catalogueVariant(t, cdir, "2026.3", "40")
	next, v4 := catalogueVariant(t, cdir, "2026.4", "10")
	c := startCluster(t, 3, func(cfg *node.Config) {
		cfg.Sanctions.Catalogue = initial
		cfg.Sanctions.Catalogues = []string{next}
	})
	admin, pub := c.creds["admin"], c.creds["publisher"]
	ctx := context.Background()
	reg, err := client.RegistrationRecord("330000", admin, pub)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := admin.Submit(ctx, c.procs[2].url, reg)
	if err != nil {
		t.Fatal(err)
	}
	// every replica has applied the registration before a follower admits a listing
	c.waitSize(rs[0].Index+1, 30*time.Second)
	submitListing := func(i uint64) uint64 {
		t.Helper()
		l, err := synth.Listing(i, synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := pub.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := pub.Submit(ctx, c.procs[1].url, e)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].Index
	}
	for _, p := range c.procs {
		var st node.CatalogueState
		if err := admin.Get(ctx, p.url+"/v1/catalogue", &st); err != nil || st.InForce.SHA256 != v3.Digest() || len(st.Known) != 3 {
			t.Fatalf("%s: initial catalogue %+v %v", p.id, st, err)
		}
	}

	// 1. A listing's notices get a provisional deadline in 2027.
	a := submitListing(1)
	before := c.waitNotices(t, a, func(v node.NoticeView) bool { return true })
	for i, vs := range before {
		for _, v := range vs {
			if !v.Provisional || !v.Notice.FeedbackDueProvisional || v.FeedbackDue.Year() < 2027 || v.Notice.Measure.CatalogueVersion != "2026.3" {
				t.Fatalf("replica %d: notice %d due %s provisional %v catalogue %s", i, v.Index, v.FeedbackDue, v.Provisional, v.Notice.Measure.CatalogueVersion)
			}
		}
	}
	sameOnEveryReplica(t, "provisional notices", before)

	// 2. An unknown catalogue hash is a field error and writes nothing.
	c.waitSettled(60 * time.Second)
	size := func() uint64 {
		st, err := c.status(c.procs[0])
		if err != nil {
			t.Fatal(err)
		}
		return st.Size
	}
	was := size()
	bogus := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(time.Now())},
		Action: schemas.ActionCatalogueAdopt, CatalogueAdopt: &schemas.CatalogueAdopt{Version: "2026.9", SHA256: strings.Repeat("ab", 32)}}
	be, err := admin.Sign(bogus)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Submit(ctx, c.procs[2].url, be); err == nil || !strings.Contains(err.Error(), "record.catalogue_adopt.sha256") || !strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
		t.Fatalf("unknown catalogue hash: %v", err)
	}
	if s := size(); s != was {
		t.Fatalf("refused adoption wrote: size %d -> %d", was, s)
	}

	// 3. Adopting 2026.4 takes effect from its index on every replica.
	ae, err := gov.CatalogueAdoptRecord("330000", admin, v4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rs, err = admin.Submit(ctx, c.procs[2].url, ae)
	if err != nil {
		t.Fatal(err)
	}
	c.waitSize(rs[0].Index+1, 30*time.Second)
	for _, p := range c.procs {
		var st node.CatalogueState
		if err := admin.Get(ctx, p.url+"/v1/catalogue", &st); err != nil {
			t.Fatal(err)
		}
		if st.InForce.SHA256 != v4.Digest() || st.InForce.Version != "2026.4" || st.Since == nil || st.Since.Index != rs[0].Index || len(st.Adopted) != 1 {
			t.Fatalf("%s: catalogue after adoption at %d: %+v", p.id, rs[0].Index, st)
		}
	}
	b := submitListing(2)
	sameOnEveryReplica(t, "notices under the adopted catalogue", c.waitNotices(t, b, func(v node.NoticeView) bool {
		return v.Notice.Measure.CatalogueVersion == "2026.4"
	}))

	// 4. Adopting 2027 recomputes the provisional deadlines on every replica.
	y, err := os.ReadFile("../sanctions/workdays/testdata/fixture_2027.yaml")
	if err != nil {
		t.Fatal(err)
	}
	year, err := workdays.ParseYear(y)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := gov.CalendarAdoptRecord("330000", admin, year, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Submit(ctx, c.procs[0].url, ce); err != nil {
		t.Fatal(err)
	}
	after := c.waitNotices(t, a, func(v node.NoticeView) bool { return !v.Provisional && v.DueCorrection != nil })
	sameOnEveryReplica(t, "recomputed notices", after)
	for i, vs := range after {
		for j, v := range vs {
			if v.DueCorrection.Was != before[i][j].FeedbackDue || v.Notice.FeedbackDue != before[i][j].FeedbackDue ||
				v.FeedbackDue != v.DueCorrection.Due || v.DueCorrection.Calendar != year.Notice {
				t.Fatalf("replica %d notice %d: %+v (was %s)", i, v.Index, v.DueCorrection, before[i][j].FeedbackDue)
			}
		}
	}
	t.Logf("recomputed: %s -> %s", after[0][0].DueCorrection.Was, after[0][0].DueCorrection.Due)
}
