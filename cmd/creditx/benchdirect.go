package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/sync/errgroup"
)

// directBatch is how many listings one LoadDirect call appends (in
// transactions of up to node.maxCommandEntries): fewer, larger bbolt
// transactions rewrite the touched branch pages and sign a checkpoint less
// often per listing.
const directBatch = 50000

// loadDirect signs n synthetic listings numbered from start (as "creditx
// bench ingest" would send them) on every core and appends them to the
// leader's ledger with node.LoadDirect: the FSM's apply step and indexing,
// without raft, HTTP or admission, so that 10^7 listings load in minutes
// (P3). The listings are the same records bench ingest builds, so
// benchChecks finds them by the same subjects.
func loadDirect(ctx context.Context, progress io.Writer, leader *node.Node, creds *client.Credentials, start, n uint64, size int) error {
	auth := schemas.Agency{Name: creds.Identity.Name, USCC: creds.Identity.ID}
	// The heap is a few batches of entries and a transaction's dirty
	// pages: collect less often while loading (GC took ~10% of the CPU).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	b := bar(progress, int64(n), "load direct")
	begin := time.Now()
	batches := make(chan [][]byte, 2)
	g, gctx := errgroup.WithContext(ctx)
	var next = make(chan uint64)
	g.Go(func() error {
		defer close(next)
		for lo := uint64(0); lo < n; lo += directBatch {
			select {
			case next <- lo:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var signers errgroup.Group
	for range runtime.GOMAXPROCS(0) {
		signers.Go(func() error {
			for lo := range next {
				batch := make([][]byte, 0, directBatch)
				for i := lo; i < min(n, lo+directBatch); i++ {
					l, err := synth.Listing(start+i, synth.Options{Region: creds.Identity.Region, Authority: auth, Domain: creds.Identity.Domains[0], PadTo: size})
					if err != nil {
						return err
					}
					e, err := creds.Sign(l)
					if err != nil {
						return err
					}
					batch = append(batch, e)
				}
				select {
				case batches <- batch:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		err := signers.Wait()
		close(batches)
		return err
	})
	g.Go(func() error {
		for batch := range batches {
			if err := leader.LoadDirect(batch); err != nil {
				return err
			}
			b.Add64(int64(len(batch)))
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	b.Finish()
	d := time.Since(begin)
	fmt.Fprintf(progress, "loaded %d listings directly in %.1fs (%.0f listings/s, signing included)\n", n, d.Seconds(), float64(n)/d.Seconds())
	return nil
}
