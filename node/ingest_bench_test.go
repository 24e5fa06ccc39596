package node_test

import (
	"context"
	"path/filepath"
	"runtime"
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
// Metrics: cpu-us/record is the whole process's CPU (the node's background
// work included: its notice service signs notices for the listings, which
// raft then skips as replays, see ApplyAppendsForBench, and the GC);
// fsm-cpu-us/record is the CPU of the one thread running ApplyBatch (the
// benchmark goroutine is locked to it), the FSM's own cost per record on
// its single goroutine, GC assists included, background GC not.
//
//	go test ./node -run '^$' -bench FSMApplyBatch -benchtime 40x
func BenchmarkFSMApplyBatch(b *testing.B) { benchFSMApply(b, 16) }

// BenchmarkFSMApplyOneCommand is BenchmarkFSMApplyBatch with the same 16
// commands of 50 listings per iteration applied as 16 raft batches of one
// command each (16 bbolt transactions, fsyncs and checkpoints): what P1's
// ingest at 16 requests in flight mostly hands the FSM (raft delivered
// its 640 commands in 414 batches, 300 of them of one command, in one
// `creditx bench ingest --local 1 --n 30000 --concurrency 16 --batch 50`
// run). Its difference from BenchmarkFSMApplyBatch is the per-transaction
// cost.
//
//	go test ./node -run '^$' -bench FSMApplyOneCommand -benchtime 40x
func BenchmarkFSMApplyOneCommand(b *testing.B) { benchFSMApply(b, 1) }

// benchFSMApply applies b.N iterations of 16 commands of 50 signed
// listings, perBatch commands per ApplyBatch.
func benchFSMApply(b *testing.B, perBatch int) {
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
	runtime.LockOSThread()   // ApplyBatch runs on this goroutine: threadCPUTime is the FSM's
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0, fsm0 := cpuTime(), threadCPUTime()
	start := time.Now()
	for k := range b.N {
		for c := 0; c < cmds; c += perBatch {
			if err := n.ApplyAppendsForBench(first+uint64(k*cmds+c), batches[k][c:c+perBatch]); err != nil {
				b.Fatal(err)
			}
		}
	}
	el := time.Since(start)
	cpu, fsmCPU := cpuTime()-cpu0, threadCPUTime()-fsm0
	b.ReportMetric(float64(b.N*cmds*per)/el.Seconds(), "records/s")
	b.ReportMetric(float64(el.Microseconds())/float64(b.N*cmds*per), "us/record")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*cmds*per), "cpu-us/record")
	if fsm0 >= 0 {
		b.ReportMetric(float64(fsmCPU.Microseconds())/float64(b.N*cmds*per), "fsm-cpu-us/record")
	}
}

// cpuTime is this process's user + system CPU time so far: on a shared
// machine, CPU per record is the figure other jobs disturb least.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPUTime is the calling thread's user + system CPU time so far
// (getrusage RUSAGE_THREAD, Linux), or -1 where that is not available.
func threadCPUTime() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
