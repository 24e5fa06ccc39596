// Command tessera-bench measures Tessera's POSIX log (github.com/transparency-dev/tessera,
// storage/posix) doing what "creditx bench ingest" measures of creditx, as the anchor of
// BENCHMARKS.md P1 (issue 21): N records of the same size (1 KiB incl. an Ed25519
// signature), each signature verified (crypto/ed25519, strict, as creditx admission
// does) before the record is added, and every add awaited until a checkpoint covering it
// is published (tessera.PublicationAwaiter), with C workers each holding a batch of B
// records in flight (C*B outstanding, the same as creditx's C requests of B records).
//
// It is its own Go module so that creditx's go.mod does not carry Tessera; the root
// "go test ./..." does not enter it. Run ./p1-vs-tessera.sh (in this directory) for both
// figures and the ratio from one run.
//
// What it does not do that creditx does per record: decode and validate the record
// against a schema, check the signing key against a keyring, deduplicate, index, serve
// it over HTTPS with mutual TLS, or replicate it through raft. The figure is the log
// alone, with the same signature check and the same await-to-checkpoint semantics.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	antispam "github.com/transparency-dev/tessera/storage/posix/antispam"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"
)

func main() {
	n := flag.Int("n", 30000, "records")
	conc := flag.Int("concurrency", 16, "workers, each with one batch in flight")
	batch := flag.Int("batch", 50, "records per worker batch (all added, then all awaited)")
	size := flag.Int("size", 1024, "bytes per record including its 64-byte signature")
	dir := flag.String("dir", "", "log directory (default: a temporary one, removed)")
	presign := flag.Bool("presign", false, "sign every record before the clock starts")
	cpInterval := flag.Duration("checkpoint-interval", 100*time.Millisecond, "tessera checkpoint interval")
	batchAge := flag.Duration("batch-max-age", 10*time.Millisecond, "tessera sequencing batch max age")
	batchSize := flag.Uint("batch-max-size", 1024, "tessera sequencing batch max size")
	dedupe := flag.Bool("antispam", false, "deduplicate adds with Tessera's persistent POSIX antispam (badger), as creditx deduplicates records")
	flag.Parse()
	if err := run(context.Background(), *n, *conc, *batch, *size, *dir, *presign, *cpInterval, *batchAge, *batchSize, *dedupe); err != nil {
		fmt.Fprintln(os.Stderr, "tessera-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, conc, batch, size int, dir string, presign bool, cpInterval, batchAge time.Duration, batchSize uint, dedupe bool) error {
	if size < 64+8 || n < 1 || conc < 1 || batch < 1 {
		return errors.New("need -size >= 72 and positive -n, -concurrency, -batch")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "tessera-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "tessera-bench.example/log")
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	_ = vkey
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithCheckpointInterval(cpInterval).
		WithBatching(batchSize, batchAge).
		WithPushback(uint(max(4096, 2*conc*batch)))
	if dedupe {
		as, err := antispam.NewAntispam(ctx, filepath.Join(dir, ".antispam"), antispam.AntispamOpts{})
		if err != nil {
			return err
		}
		opts = opts.WithAntispam(tessera.DefaultAntispamInMemorySize, as)
	}
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return err
	}
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 10*time.Millisecond)

	// The records: sequence number, filler, Ed25519 signature over the rest.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	makeBatch := func(lo, hi int) [][]byte {
		out := make([][]byte, 0, hi-lo)
		for i := lo; i < hi; i++ {
			msg := make([]byte, size-64, size)
			binary.BigEndian.PutUint64(msg, uint64(i))
			for j := 8; j < len(msg); j++ {
				msg[j] = byte('a' + (i+j)%26)
			}
			out = append(out, append(msg, ed25519.Sign(priv, msg)...))
		}
		return out
	}
	batches := (n + batch - 1) / batch
	work := make(chan [][]byte, map[bool]int{true: batches, false: 2 * conc}[presign])
	var prod errgroup.Group
	var next atomic.Int64
	for range runtime.GOMAXPROCS(0) {
		prod.Go(func() error {
			for {
				k := int(next.Add(1) - 1)
				if k >= batches {
					return nil
				}
				select {
				case work <- makeBatch(k*batch, min(n, (k+1)*batch)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		})
	}
	prodDone := make(chan error, 1)
	go func() { prodDone <- prod.Wait(); close(work) }()
	if presign {
		if err := <-prodDone; err != nil {
			return err
		}
		prodDone <- nil
	}
	var mu sync.Mutex
	var lat []time.Duration
	var done, pushbacks atomic.Int64
	begin, cpu0 := time.Now(), cpuTime()
	g, gctx := errgroup.WithContext(ctx)
	for range conc {
		g.Go(func() error {
			futures := make([]tessera.IndexFuture, 0, batch)
			for b := range work {
				t := time.Now()
				futures = futures[:0]
				for _, e := range b {
					msg, sig := e[:len(e)-64], e[len(e)-64:]
					if !ed25519.Verify(pub, msg, sig) {
						return errors.New("signature does not verify")
					}
					futures = append(futures, app.Add(gctx, tessera.NewEntry(e)))
				}
				for i, f := range futures {
					for {
						_, _, err := awaiter.Await(gctx, f)
						if !errors.Is(err, tessera.ErrPushback) {
							if err != nil {
								return err
							}
							break
						}
						// Tessera asks to come back later (antispam follower
						// behind): what its HTTP personality answers with 503.
						pushbacks.Add(1)
						time.Sleep(5 * time.Millisecond)
						f = app.Add(gctx, tessera.NewEntry(b[i]))
					}
				}
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				done.Add(int64(len(b)))
			}
			return nil
		})
	}
	err = g.Wait()
	elapsed, cpu := time.Since(begin), cpuTime()-cpu0
	if perr := <-prodDone; err == nil {
		err = perr
	}
	if serr := shutdown(context.Background()); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(100 * time.Microsecond)
	}
	fmt.Printf("tessera %s posix: records: %d in %d batches, %.1fs\nthroughput: %.0f records/s\nack latency per batch: p50 %v  p90 %v  p99 %v  max %v\n",
		tesseraVersion, done.Load(), len(lat), elapsed.Seconds(), float64(done.Load())/elapsed.Seconds(), p(0.5), p(0.9), p(0.99), p(1))
	if pushbacks.Load() > 0 {
		fmt.Printf("pushbacks retried: %d\n", pushbacks.Load())
	}
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("cpu: %.1fs of this process, %.0f us per record; load average %s\n", cpu.Seconds(), float64(cpu.Microseconds())/float64(done.Load()), strings.Join(strings.Fields(string(la))[:3], " "))
	return nil
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const tesseraVersion = "v1.0.4"
