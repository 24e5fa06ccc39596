package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
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
	var sh, zj *member
	var n, entryBytes int
	if dir := os.Getenv("CREDITX_CATCHUP_DIR"); dir != "" {
		// A prepared origin of 10^6 listings (catchup_origin_test.go).
		var o catchUpOrigin
		sh, zj, o = preparedCatchUp(b, dir)
		n, entryBytes = o.listings, o.entryBytes
	} else {
		n = 20000
		sh, zj, entryBytes = smallCatchUpOrigin(b, uint64(n))
	}
	want := zj.status(b).Size
	// The newcomer only mirrors and verifies here: its own sanction notices
	// for the mirrored listings (about 7 records per listing, appended to its
	// own ledger) are another workload, measured by bench ingest --notices.
	sh.cfg.Sanctions.Agencies = filepath.Join(b.TempDir(), "no-agencies.yaml")
	limit := max(5*time.Minute, time.Duration(want)*time.Second/2000)
	var ru0 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	sh.start(b)
	for sh.mirror(b, "330000").Size < want {
		if time.Since(start) > limit {
			b.Fatalf("catch-up did not finish in %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	var ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(want)/el.Seconds(), "entries/s")
	b.ReportMetric(float64(want), "entries")
	b.ReportMetric(el.Seconds(), "wall-s")
	// CPU of the whole process (origin serving and newcomer) per entry.
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-us/entry")
	// Bytes on the wire per record: HTTP/3 bodies (entry bundles, hash
	// tiles, checkpoints) fetched from the origin per mirrored entry (the
	// listings, entry-B/listing each, and the sanction notices they caused).
	m := sh.mirror(b, "330000")
	b.ReportMetric(float64(m.FetchedBytes)/float64(want), "fetched-B/entry")
	b.ReportMetric(float64(entryBytes)/float64(n), "entry-B/listing")
}

// smallCatchUpOrigin starts a two-member consortium, stops the newcomer
// (310000) and has the origin (330000) admit n listings over HTTP, with
// the sanction notices they cause; it returns the bytes of the listings.
func smallCatchUpOrigin(b *testing.B, n uint64) (sh, zj *member, entryBytes int) {
	ms, _ := startConsortium(b, []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "330000", Name: "Zhejiang"}})
	sh, zj = ms["310000"], ms["330000"]
	sh.stop()
	p := zj.creds["publisher"]
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
	return sh, zj, entryBytes
}
