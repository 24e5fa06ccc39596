package node_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/creditx/creditx/provision"
)

// BenchmarkSubmitToWitnessed measures P2b: from submitting one listing in
// 330000 until it is covered by a checkpoint witnessed by witness_quorum
// other members AND mirrored (verified, indexed, so queryable) by every
// other member. Reports p50 and p95 in milliseconds.
func BenchmarkSubmitToWitnessed(b *testing.B) {
	ms, _ := startConsortium(b, append([]provision.MemberSpec(nil), deltaMembers...))
	zj := ms["330000"]
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, _ := zj.listing(b, uint64(1000+i))
		start := time.Now()
		rs, err := zj.creds["publisher"].Submit(context.Background(), zj.n.URL(), e)
		if err != nil {
			b.Fatal(err)
		}
		want := rs[0].Index + 1
		for !reached(zj, ms, want) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("record %d not witnessed and mirrored after 10s", rs[0].Index)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
}

// reached: origin's ledger witnessed at size >= want and mirrored to want by all others.
func reached(origin *member, ms map[string]*member, want uint64) bool {
	st, err := origin.n.ExchangeStatus()
	if err != nil || st.Witnessed < want {
		return false
	}
	for _, o := range ms {
		if o == origin {
			continue
		}
		xs, err := o.n.ExchangeStatus()
		if err != nil {
			return false
		}
		for _, m := range xs.Mirrors {
			if m.Code == origin.code && m.Size < want {
				return false
			}
		}
	}
	return true
}

// BenchmarkMirrorCatchUp measures P7 at a small scale: a member that was
// offline while another published N entries catches up from genesis,
// verifying everything (tiles, leaf hashes, keyring, signatures, schemas),
// over HTTP/3. Reports entries per second (10^6 in 2 min needs >= 8334/s).
func BenchmarkMirrorCatchUp(b *testing.B) {
	const n = 20000
	ms, _ := startConsortium(b, []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "330000", Name: "Zhejiang"}})
	sh, zj := ms["310000"], ms["330000"]
	sh.stop()
	p := zj.creds["publisher"]
	entryBytes := 0
	for i := uint64(0); i < n; i += 1000 {
		var batch [][]byte
		for j := i; j < i+1000; j++ {
			e, _ := zj.listing(b, j)
			batch = append(batch, e)
			entryBytes += len(e)
		}
		if _, err := p.Submit(context.Background(), zj.n.URL(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	want := zj.status(b).Size
	// The newcomer only mirrors and verifies here: its own sanction notices
	// for the mirrored listings (about 7 records per listing, appended to its
	// own ledger) are another workload, measured by bench ingest --notices.
	sh.cfg.Sanctions.Agencies = filepath.Join(b.TempDir(), "no-agencies.yaml")
	b.ResetTimer()
	start := time.Now()
	sh.start(b)
	for sh.mirror(b, "330000").Size < want {
		if time.Since(start) > 5*time.Minute {
			b.Fatal("catch-up did not finish in 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.ReportMetric(float64(want)/el.Seconds(), "entries/s")
	b.ReportMetric(float64(want), "entries")
	// Bytes on the wire per record: HTTP/3 bodies (entry bundles, hash
	// tiles, checkpoints) fetched from the origin per mirrored entry (the
	// listings, entry-B/listing each, and the sanction notices they caused).
	m := sh.mirror(b, "330000")
	b.ReportMetric(float64(m.FetchedBytes)/float64(want), "fetched-B/entry")
	b.ReportMetric(float64(entryBytes)/float64(n), "entry-B/listing")
}
