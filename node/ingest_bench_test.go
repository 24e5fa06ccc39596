package node_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/schemas"
)

// BenchmarkFSMApplyBatch measures the FSM's work per replica alone
// (BENCHMARKS.md P1b): ApplyBatch of one raft batch of 16 commands x 50
// signed ~1 KiB listings, as P1's 16 requests in flight produce, with the
// node's real indexer, keyring check and record dedupe, one bbolt
// transaction and fsync and one signed checkpoint per batch. Records are
// signed before the timer starts; raft, HTTP and admission are not in the
// figure. Every replica of a region does this work for every record.
//
//	go test ./node -run '^$' -bench FSMApplyBatch -benchtime 40x
func BenchmarkFSMApplyBatch(b *testing.B) {
	const cmds, per = 16, 50
	n, dir := nodetest.StartDev(b, "330000")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		b.Fatal(err)
	}
	pub, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		b.Fatal(err)
	}
	auth := schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID}
	batches := make([][][][]byte, b.N)
	seq := uint64(time.Now().UnixNano())
	for k := range batches {
		for range cmds {
			var es [][]byte
			for range per {
				seq++
				l, err := synth.Listing(seq, synth.Options{Region: "330000", Authority: auth, Domain: pub.Identity.Domains[0], PadTo: 1024})
				if err != nil {
					b.Fatal(err)
				}
				e, err := pub.Sign(l)
				if err != nil {
					b.Fatal(err)
				}
				es = append(es, e)
			}
			batches[k] = append(batches[k], es)
		}
	}
	first := uint64(1 << 40) // far above raft's indices (see ApplyAppendsForBench)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for k := range b.N {
		if err := n.ApplyAppendsForBench(first+uint64(k*cmds), batches[k]); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N*cmds*per)/el.Seconds(), "records/s")
	b.ReportMetric(float64(el.Microseconds())/float64(b.N*cmds*per), "us/record")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*cmds*per), "cpu-us/record")
}

// cpuTime is this process's user + system CPU time so far: on a shared
// machine, CPU per record is the figure other jobs disturb least.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
