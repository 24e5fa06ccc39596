package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// writeSingleLedger writes dir as "creditx ledger gen" + "creditx export"
// would: one ledger of a governance record and n signed ~1 KiB listings,
// exported as a tlog-tiles tree, with dir/trust.yaml. It returns the time
// spent generating (signing and storing) the entries.
func writeSingleLedger(tb fataler, dir string, n int) time.Duration {
	m := newMember(tb, "330000")
	vr, _ := note.NewVerifier(m.logV)
	s, err := ledger.Open(filepath.Join(tb.TempDir(), "ledger.db"), ledger.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	m.register(tb, m.pub, m.pubUSCC(), "publish", fixtureBase)
	auth := schemas.Agency{Name: "Listing authority", USCC: m.pubUSCC()}
	for done := 0; done < n || len(m.entries) > 0; {
		for len(m.entries) < 1000 && done < n {
			l, err := synth.Listing(uint64(done+1), synth.Options{Region: m.code, Authority: auth, PadTo: 1024, Now: fixtureBase.Add(time.Minute)})
			if err != nil {
				tb.Fatal(err)
			}
			e, err := schemas.Sign(l, m.pub)
			if err != nil {
				tb.Fatal(err)
			}
			m.entries = append(m.entries, e)
			done++
		}
		err := s.Update(func(tx *ledger.Tx) error {
			if _, err := tx.Append(m.origin(), m.entries); err != nil {
				return err
			}
			lr := tx.Log(m.origin())
			root, err := lr.TreeHash(lr.Size())
			if err != nil {
				return err
			}
			cp, err := ledger.SignCheckpoint(m.logS, m.origin(), lr.Size(), root)
			if err != nil {
				return err
			}
			return tx.SetCheckpoint(m.origin(), cp, vr)
		})
		if err != nil {
			tb.Fatal(err)
		}
		m.entries = m.entries[:0]
	}
	gen := time.Since(start)
	if err := ledger.Export(context.Background(), s.Log(m.origin()), dir, m.logV); err != nil {
		tb.Fatal(err)
	}
	tf := &trust.File{Origins: []trust.Origin{{Origin: m.origin(), VKey: m.logV, Anchors: []trust.Anchor{{Name: "Credit office",
		USCC: m.adminUSCC(), PublicKey: base64.StdEncoding.EncodeToString(m.admin.Public().(ed25519.PublicKey))}}}}}
	if err := tf.Save(filepath.Join(dir, TrustFile)); err != nil {
		tb.Fatal(err)
	}
	return gen
}

// BenchmarkAuditLedger (P4) audits one ledger of AUDIT_BENCH_N (default
// 50,000) signed ~1 KiB listings with every check: Merkle tree, checkpoint
// signature, envelope, schema validation and Ed25519 agency signature with
// key validity per entry, plus the closed-loop analysis and the HTML and
// JSON reports. Reports entries/s (one ledger is verified on one core;
// Parallel only spreads several ledgers) and report generation time.
//
// The 10^6 case through the CLI:
//
//	creditx ledger gen --dir /tmp/l6 --n 1000000
//	creditx export --data /tmp/l6 --tiles /tmp/l6/tiles && cp /tmp/l6/trust.yaml /tmp/l6/tiles/
//	time creditx audit --dir /tmp/l6/tiles --html /tmp/l6/audit.html
func BenchmarkAuditLedger(b *testing.B) {
	n := 50000
	if s := os.Getenv("AUDIT_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	gen := writeSingleLedger(b, dir, n)
	in, err := FromDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var verify, reports, cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		t0 := time.Now()
		rep, err := Run(context.Background(), in, Options{At: fixtureAt, Parallel: 1})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Entries != uint64(n+1) || rep.Loop.Listings != n {
			b.Fatalf("audited %d entries, %d listings", rep.Entries, rep.Loop.Listings)
		}
		t1 := time.Now()
		cpu += cpuTime() - c0
		rep.WriteHTML(io.Discard)
		rep.WriteJSON(io.Discard)
		verify += t1.Sub(t0)
		reports += time.Since(t1)
	}
	// A mirror copy costs a Merkle-only pass (plus one leaf comparison).
	cp, _ := ledger.DirSource(dir).Checkpoint()
	v, _ := note.NewVerifier(in.Trust.Origins[0].VKey)
	t0 := time.Now()
	if _, err := ledger.Verify(context.Background(), ledger.DirSource(dir), cp, in.Copies[0].Origin, v, nil, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n+1)/time.Since(t0).Seconds(), "merkle-entries/s")
	b.ReportMetric(float64(n+1)*float64(b.N)/verify.Seconds(), "entries/s")
	b.ReportMetric(reports.Seconds()*1000/float64(b.N), "report-ms")
	b.ReportMetric(float64(n+1)*float64(b.N)/cpu.Seconds(), "entries/cpu-s")
	b.ReportMetric(gen.Seconds(), "gen-s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

// cpuTime is the process's user+system CPU time: on a shared machine,
// entries per CPU-second is the per-core figure that wall time is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
