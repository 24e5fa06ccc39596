package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"
)

// ingestOptions are the parameters of benchIngest.
type ingestOptions struct {
	URL         string
	Start, N    uint64 // synthetic sequence numbers Start .. Start+N-1
	Conc, Batch int    // requests in flight, records per request
	Size        int    // approximate bytes per signed record
	Rate        float64
	// Presign signs every record before the clock starts; otherwise
	// producers sign while earlier requests are in flight.
	Presign bool
	// Proofs is "each" (a receipt with an inclusion proof per record) or
	// "batch" (one range proof per request, node.BatchReceipt).
	Proofs string
	// Acks, if set, receives "<index> <leaf hash hex>\n" per acknowledged
	// record, written and flushed once per acknowledged request.
	Acks io.Writer
}

// batchWork is one request's records, signed by a producer.
type batchWork struct {
	lo      uint64 // position of the first record in the run
	entries [][]byte
}

// benchIngest submits o.N synthetic signed listings with o.Conc requests in
// flight. Producers (one per CPU) make and sign batches into a channel that
// holds at most 2*o.Conc of them, so the first request leaves as soon as
// its records are signed and memory stays bounded whatever o.N.
func benchIngest(ctx context.Context, progress io.Writer, creds *client.Credentials, o ingestOptions) (IngestReport, error) {
	if o.Batch < 1 || o.Conc < 1 {
		return IngestReport{}, fmt.Errorf("--batch and --concurrency must be at least 1")
	}
	switch o.Proofs {
	case "", "each", "batch":
	default:
		return IngestReport{}, fmt.Errorf("--proofs %q: want each or batch", o.Proofs)
	}
	auth := schemas.Agency{Name: creds.Identity.Name, USCC: creds.Identity.ID}
	batches := (o.N + uint64(o.Batch) - 1) / uint64(o.Batch)
	depth := 2 * o.Conc
	if o.Presign {
		depth = int(batches)
	}
	work := make(chan batchWork, depth)
	g, gctx := errgroup.WithContext(ctx)
	var prod errgroup.Group
	var nextBatch atomic.Uint64
	for range max(1, runtime.GOMAXPROCS(0)) {
		prod.Go(func() error {
			for {
				k := nextBatch.Add(1) - 1
				if k >= batches {
					return nil
				}
				lo := k * uint64(o.Batch)
				hi := min(o.N, lo+uint64(o.Batch))
				b := batchWork{lo: lo, entries: make([][]byte, 0, hi-lo)}
				for i := lo; i < hi; i++ {
					l, err := synth.Listing(o.Start+i, synth.Options{Region: creds.Identity.Region, Authority: auth, Domain: creds.Identity.Domains[0], PadTo: o.Size})
					if err != nil {
						return err
					}
					e, err := creds.Sign(l)
					if err != nil {
						return err
					}
					b.entries = append(b.entries, e)
				}
				select {
				case work <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		})
	}
	// Batches are handed out in order of k only approximately (producers
	// race); the ledger order does not matter to the bench.
	var prodErr error
	var prodDone sync.WaitGroup
	prodDone.Add(1)
	go func() {
		defer prodDone.Done()
		prodErr = prod.Wait()
		close(work)
	}()
	if o.Presign {
		prodDone.Wait()
		if prodErr != nil {
			return IngestReport{}, prodErr
		}
	}
	bar := progressbar.NewOptions64(int64(o.N), progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("ingest"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rec"), progressbar.OptionThrottle(200*time.Millisecond))
	var mu sync.Mutex // guards lat and acks
	var lat []time.Duration
	var acks *bufio.Writer
	if o.Acks != nil {
		acks = bufio.NewWriterSize(o.Acks, 64<<10)
	}
	var line []byte // guarded by mu
	begin, cpu0 := time.Now(), cpuTime()
	// With a rate, request k may start no earlier than begin + k*batch/rate.
	var reqNo atomic.Int64
	pace := func() {
		if o.Rate <= 0 {
			return
		}
		k := reqNo.Add(1) - 1
		at := begin.Add(time.Duration(float64(k*int64(o.Batch)) / o.Rate * float64(time.Second)))
		time.Sleep(time.Until(at))
	}
	var records atomic.Uint64
	for range o.Conc {
		g.Go(func() error {
			for b := range work {
				pace()
				t := time.Now()
				acked, err := submitBench(gctx, creds, o, b.entries)
				if err != nil {
					return fmt.Errorf("records %d-%d: %w", o.Start+b.lo, o.Start+b.lo+uint64(len(b.entries))-1, err)
				}
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				if acks != nil {
					for _, a := range acked {
						line = strconv.AppendUint(line[:0], a.index, 10)
						line = append(line, ' ')
						line = append(line, a.leafHash...)
						line = append(line, '\n')
						acks.Write(line)
					}
					err = acks.Flush()
				}
				mu.Unlock()
				if err != nil {
					return fmt.Errorf("--acks: %w", err)
				}
				records.Add(uint64(len(b.entries)))
				bar.Add64(int64(len(b.entries)))
			}
			return nil
		})
	}
	err := g.Wait()
	prodDone.Wait()
	if err == nil {
		err = prodErr
	}
	bar.Finish()
	fmt.Fprintln(progress)
	slices.Sort(lat)
	return IngestReport{Records: records.Load(), Requests: len(lat), Elapsed: time.Since(begin), Lat: lat, CPU: cpuTime() - cpu0}, err
}

// ackLine is one acknowledged record.
type ackLine struct {
	index    uint64
	leafHash string // hex
}

// submitBench submits one batch the way o asks and returns what the node
// acknowledged, one per entry, in order.
func submitBench(ctx context.Context, creds *client.Credentials, o ingestOptions, entries [][]byte) ([]ackLine, error) {
	var rs []node.Receipt
	var err error
	if o.Proofs == "batch" {
		var br *node.BatchReceipt
		if br, err = creds.SubmitBatch(ctx, o.URL, entries...); err != nil {
			return nil, err
		}
		// The range proof and every rebuilt inclusion proof are checked
		// against the checkpoint's root (its signature is not: neither
		// path checks it here).
		if rs, err = client.BatchReceipts(br, nil); err != nil {
			return nil, fmt.Errorf("batch receipt: %w", err)
		}
	} else if rs, err = creds.Submit(ctx, o.URL, entries...); err != nil {
		return nil, err
	}
	if len(rs) != len(entries) {
		return nil, fmt.Errorf("%d receipts for %d records", len(rs), len(entries))
	}
	out := make([]ackLine, len(rs))
	for i, r := range rs {
		out[i] = ackLine{r.Index, r.LeafHash}
	}
	return out, nil
}
