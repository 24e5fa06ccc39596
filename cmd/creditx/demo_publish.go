package main

import (
	"errors"
	"sync"
)

// publishListings runs submit(k, j) once for every batch j < counts[k] of
// every publishing member k (member 0 is Zhejiang; a batch is one
// authority's listings). Zhejiang's first batch is always submitted alone
// and first, so that its first listing follows its own governance records
// at a fixed index (the README's provenance example).
//
// One by one (atOnce false, the demo): every batch of a member, then the
// next member's, in order. At once (bench delta): after Zhejiang's first
// batch, every other batch at the same time, as independent members and
// their independent authorities would. A member's authorities used to
// publish one after another there too, so a member's last listing waited
// for its first one's commit and for a second TLS handshake with its
// node on a saturated machine (issue 20: 2 of the 4 sequential submits on
// the path to "published", each 0.4-4 s in a 45-member run). The errors of
// every batch are joined.
//
// then, if not nil, publishes what follows the listings (the demo's rules
// records, demo_loop.go): one by one after the last batch; at once beside
// the other batches, after Zhejiang's first (stop 35's runs spent 2.2-3.9 s
// of "published" on the two rules records submitted after every listing
// was answered, at the peak of the load, and the listing they relist
// started its way to the other members that much later).
func publishListings(counts []int, atOnce bool, submit func(k, j int) error, then func() error) error {
	if then == nil {
		then = func() error { return nil }
	}
	if !atOnce {
		for k, c := range counts {
			for j := range c {
				if err := submit(k, j); err != nil {
					return err
				}
			}
		}
		return then()
	}
	if len(counts) > 0 && counts[0] > 0 {
		if err := submit(0, 0); err != nil {
			return err
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error // guarded by mu
	)
	wg.Go(func() {
		if err := then(); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	})
	for k, c := range counts {
		for j := range c {
			if k == 0 && j == 0 {
				continue
			}
			wg.Go(func() {
				if err := submit(k, j); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// batchCounts is the number of batches of each member.
func batchCounts[T any](batches [][]T) []int {
	out := make([]int, len(batches))
	for k, b := range batches {
		out[k] = len(b)
	}
	return out
}
