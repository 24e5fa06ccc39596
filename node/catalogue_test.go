package node

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/catalogue"
	"github.com/creditx/creditx/schemas"
	"github.com/hashicorp/raft"
	"golang.org/x/mod/sumdb/tlog"
)

// variantCatalogue is the embedded catalogue renamed to version v with every
// programme's feedback deadline set to days working days.
func variantCatalogue(t testing.TB, v, days string) []byte {
	t.Helper()
	b := catalogue.DefaultFile()
	b = bytes.Replace(b, []byte(`version: "2026.2"`), []byte(`version: "`+v+`"`), 1)
	return bytes.ReplaceAll(b, []byte("feedback_workdays: 10"), []byte("feedback_workdays: "+days))
}

// withCatalogues gives replica n the catalogue set {embedded, extra...}, the
// embedded one initial, as newSanctions does from the config.
func withCatalogues(t *testing.T, n *Node, extra ...*catalogue.Catalogue) {
	t.Helper()
	def := n.sanctions.engine.Catalogue()
	set, err := sanctions.NewCatalogueSet(append([]*catalogue.Catalogue{def}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	n.sanctions.cats, n.sanctions.engines = set, map[string]*sanctions.Engine{}
	for _, c := range set.All() {
		e, err := n.sanctions.engine.WithCatalogue(c)
		if err != nil {
			t.Fatal(err)
		}
		n.sanctions.engines[c.Digest()] = e
	}
}

func catalogueAdopt(t *testing.T, key ed25519.PrivateKey, version, digest string, at time.Time) []byte {
	t.Helper()
	g := &schemas.Governance{
		Header:         schemas.Header{Region: "330000", Submitter: calIssuer, CreatedAt: schemas.NewTime(at)},
		Action:         schemas.ActionCatalogueAdopt,
		CatalogueAdopt: &schemas.CatalogueAdopt{Version: version, SHA256: digest},
	}
	e, err := schemas.Sign(g, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// queuedNotices is what notices.Service.issue computes on the leader: every queued
// listing's notices under the catalogue the queue recorded for it.
func queuedNotices(t *testing.T, n *Node) []*schemas.SanctionNotice {
	t.Helper()
	var out []*schemas.SanctionNotice
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		cal := n.viewCalendar(tx)
		c := tx.Bucket(bucketNoticeQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			origin, index, _ := splitEntryKey(k)
			e, err := tx.Log(origin).Entry(index)
			if err != nil {
				return err
			}
			l, err := schemas.DecodeListing(e)
			if err != nil {
				return err
			}
			h := tlog.RecordHash(e)
			ns, err := n.queuedEngine(v).WithCalendar(cal).NoticesFor(l, schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}, queuedAt(v))
			if err != nil {
				return err
			}
			out = append(out, ns...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 12 item 3: a catalogue_adopt with an arbitrary hash was accepted and
// nothing used it. Now admission refuses a digest no known catalogue has,
// and an adoption takes effect from its index on every replica: listings
// indexed before it keep the catalogue recorded in the notice queue, later
// ones are queued (and their notices issued) under the adopted one.
func TestCatalogueAdoptionTakesEffectFromItsIndex(t *testing.T) {
	dir := t.TempDir()
	s, v, key := zhejiangKeys(t)
	v3, err := catalogue.Load(bytes.NewReader(variantCatalogue(t, "2026.3", "40")))
	if err != nil {
		t.Fatal(err)
	}
	var replicas []*Node
	for i := range 3 {
		r := calendarReplica(t, filepath.Join(dir, string(rune('a'+i))+".db"), s, v)
		withCatalogues(t, r, v3)
		replicas = append(replicas, r)
	}
	apply := func(l *raft.Log) {
		for _, r := range replicas {
			applyAll(t, r.fsm, l)
		}
	}
	def := replicas[0].sanctions.engine.Catalogue()
	clock := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) // Monday 10:00 in Beijing

	// Admission: an unknown digest and a wrong version are field errors.
	if field, msg := replicas[0].checkCatalogueAdopt(&schemas.CatalogueAdopt{Version: "2026.9", SHA256: strings.Repeat("ab", 32)}); field != "record.catalogue_adopt.sha256" ||
		!strings.Contains(msg, strings.Repeat("ab", 32)) || !strings.Contains(msg, v3.Digest()) {
		t.Fatalf("unknown digest: %q %s", field, msg)
	}
	if field, _ := replicas[0].checkCatalogueAdopt(&schemas.CatalogueAdopt{Version: "2026.2", SHA256: v3.Digest()}); field != "record.catalogue_adopt.version" {
		t.Fatalf("wrong version: %q", field)
	}

	l1, _ := schemas.Sign(zjEnvListing(t, 1, clock), key)
	apply(ownAppend(t, 1, clock, l1))
	apply(ownAppend(t, 2, clock.Add(time.Minute), catalogueAdopt(t, key, v3.Version(), v3.Digest(), clock.Add(time.Minute))))
	l2, _ := schemas.Sign(zjEnvListing(t, 2, clock.Add(2*time.Minute)), key)
	apply(ownAppend(t, 3, clock.Add(2*time.Minute), l2))
	// An adoption that reached the FSM with an unknown digest (a mirrored
	// member's, or a raw raft command) is recorded as refused, not applied.
	apply(ownAppend(t, 4, clock.Add(3*time.Minute), catalogueAdopt(t, key, "2026.9", strings.Repeat("cd", 32), clock.Add(3*time.Minute))))

	var first []byte
	for i, r := range replicas {
		st, err := r.CatalogueState()
		if err != nil {
			t.Fatal(err)
		}
		if st.InForce.SHA256 != v3.Digest() || st.Since == nil || st.Since.Index != 1 || len(st.Adopted) != 1 || len(st.Known) != 2 ||
			len(st.Refused) != 1 || st.Refused[0].Index != 3 || !strings.Contains(st.Refused[0].Reason, "record.catalogue_adopt.sha256") {
			t.Fatalf("replica %d catalogue state %+v", i, st)
		}
		byListing := map[uint64][]*schemas.SanctionNotice{}
		for _, nt := range queuedNotices(t, r) {
			byListing[nt.Listing.Index] = append(byListing[nt.Listing.Index], nt)
		}
		// ledger indexes: listing 0, adoption 1, listing 2, refused adoption 3
		if len(byListing[0]) == 0 || len(byListing[2]) == 0 {
			t.Fatalf("replica %d: notices for listings 0 and 2: %d, %d", i, len(byListing[0]), len(byListing[2]))
		}
		for _, nt := range byListing[0] {
			// 10 working days from Monday 2026-03-02 under the initial catalogue.
			if nt.Measure.CatalogueVersion != def.Version() || nt.FeedbackDue.String() != "2026-03-16" {
				t.Fatalf("replica %d listing before adoption: %s due %s", i, nt.Measure.CatalogueVersion, nt.FeedbackDue)
			}
		}
		for _, nt := range byListing[2] {
			// 40 working days from Monday 2026-03-02 under the adopted one (Qingming 04-06 off).
			if nt.Measure.CatalogueVersion != "2026.3" || nt.FeedbackDue.String() != "2026-04-28" {
				t.Fatalf("replica %d listing after adoption: %s due %s", i, nt.Measure.CatalogueVersion, nt.FeedbackDue)
			}
		}
		d := dumpBuckets(t, r, bucketCatalogues, bucketNoticeQueue)
		if first == nil {
			first = d
		} else if !bytes.Equal(first, d) {
			t.Fatalf("replica %d differs:\n%s\nvs\n%s", i, d, first)
		}
	}
}
