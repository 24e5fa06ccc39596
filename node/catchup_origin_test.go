package node_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"golang.org/x/sync/errgroup"
)

// A prepared catch-up origin (CREDITX_CATCHUP_DIR) is a two-member
// consortium directory kept between benchmark runs: 330000 (the origin)
// holds CREDITX_CATCHUP_N listings (default 10^6) appended with
// Node.LoadDirect (the FSM's apply and indexing, no raft, HTTP or
// admission), and 310000.pristine is the newcomer as it was before the
// origin published them. Each run copies the pristine newcomer over
// 310000 and starts it against the origin, so the timed part is the
// catch-up alone. The file "ready" ("<listings> <entry bytes>") marks a
// finished preparation; a directory without it that is not empty is
// refused rather than removed. With CREDITX_CATCHUP_PREPARE_ONLY set, a
// run that prepared the directory stops there (build it under nice, time
// the catch-up under the bench lock).

// catchUpOrigin is the prepared origin's metadata.
type catchUpOrigin struct {
	listings   int
	entryBytes int
}

// preparedCatchUp returns the newcomer (stopped, reset to its pristine
// copy) and the origin (running) of the prepared directory dir, preparing
// it first if it is not ready.
func preparedCatchUp(b *testing.B, dir string) (sh, zj *member, o catchUpOrigin) {
	b.Helper()
	ready := filepath.Join(dir, "ready")
	raw, err := os.ReadFile(ready)
	if errors.Is(err, fs.ErrNotExist) {
		n := 1000000
		if s := os.Getenv("CREDITX_CATCHUP_N"); s != "" {
			if n, err = strconv.Atoi(s); err != nil || n <= 0 {
				b.Fatalf("CREDITX_CATCHUP_N=%q: want a positive count", s)
			}
		}
		o = prepareCatchUp(b, dir, n)
		if err := os.WriteFile(ready, fmt.Appendf(nil, "%d %d\n", o.listings, o.entryBytes), 0o644); err != nil {
			b.Fatal(err)
		}
		if os.Getenv("CREDITX_CATCHUP_PREPARE_ONLY") != "" {
			b.Skip("prepared; CREDITX_CATCHUP_PREPARE_ONLY is set")
		}
	} else if err != nil {
		b.Fatal(err)
	} else if _, err := fmt.Sscan(string(raw), &o.listings, &o.entryBytes); err != nil {
		b.Fatalf("%s: %v", ready, err)
	}
	newcomer := filepath.Join(dir, "310000")
	if err := os.RemoveAll(newcomer); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", newcomer+".pristine", newcomer).CombinedOutput(); err != nil {
		b.Fatalf("copy pristine newcomer: %v: %s", err, out)
	}
	sh, zj = loadMember(b, dir, "310000"), loadMember(b, dir, "330000")
	zj.start(b)
	return sh, zj, o
}

// prepareCatchUp builds the prepared directory dir with n listings.
func prepareCatchUp(b *testing.B, dir string, n int) catchUpOrigin {
	b.Helper()
	if es, err := os.ReadDir(dir); err == nil && len(es) > 0 {
		b.Fatalf("%s is not empty and has no \"ready\" file: remove it or point CREDITX_CATCHUP_DIR elsewhere", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	specs := []provision.MemberSpec{{Region: "310000", Name: "Shanghai"}, {Region: "330000", Name: "Zhejiang"}}
	addrs := freeAddrs(b, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	if _, _, err := provision.PrepareConsortium(dir, specs); err != nil {
		b.Fatal(err)
	}
	sh, zj := loadMember(b, dir, "310000"), loadMember(b, dir, "330000")
	sh.start(b)
	zj.start(b)
	for _, mb := range []*member{sh, zj} {
		if err := mb.n.SeedDev(context.Background(), filepath.Join(mb.cfg.DataDir, "agencies")); err != nil {
			b.Fatal(err)
		}
	}
	sh.stop()
	if out, err := exec.Command("cp", "-a", filepath.Join(dir, "310000"), filepath.Join(dir, "310000.pristine")).CombinedOutput(); err != nil {
		b.Fatalf("copy newcomer: %v: %s", err, out)
	}
	entryBytes, err := loadListings(b, zj, n)
	if err != nil {
		b.Fatal(err)
	}
	zj.stop()
	b.Logf("prepared %s: %d listings in %.1fs", dir, n, time.Since(begin).Seconds())
	return catchUpOrigin{listings: n, entryBytes: entryBytes}
}

// loadListings signs n listings on every core and appends them to mb's
// ledger with LoadDirect, 10,000 a transaction; it returns their bytes.
func loadListings(b *testing.B, mb *member, n int) (int, error) {
	const batch = 10000
	next := make(chan int)
	batches := make(chan [][]byte, 2)
	g, ctx := errgroup.WithContext(context.Background())
	g.Go(func() error {
		defer close(next)
		for lo := 0; lo < n; lo += batch {
			select {
			case next <- lo:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	var signers errgroup.Group
	for range runtime.GOMAXPROCS(0) {
		signers.Go(func() error {
			for lo := range next {
				es := make([][]byte, 0, batch)
				for i := lo; i < min(n, lo+batch); i++ {
					e, _ := mb.listing(b, uint64(i))
					es = append(es, e)
				}
				select {
				case batches <- es:
				case <-ctx.Done():
					return ctx.Err()
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
	total := 0
	g.Go(func() error {
		for es := range batches {
			if err := mb.n.LoadDirect(es); err != nil {
				return err
			}
			for _, e := range es {
				total += len(e)
			}
		}
		return nil
	})
	return total, g.Wait()
}

// loadMember reads a prepared member's config; its own sanction notices
// are off (no agencies), as in the small benchmark's newcomer.
func loadMember(b *testing.B, dir, code string) *member {
	b.Helper()
	cfg, err := node.LoadConfig(filepath.Join(dir, code, "node.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Exchange.PullInterval = 300 * time.Millisecond
	cfg.Exchange.PushInterval = 50 * time.Millisecond
	cfg.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml")
	mb := &member{code: code, cfg: *cfg, creds: map[string]*client.Credentials{}}
	for _, name := range []string{"admin", "publisher", "auditor"} {
		cr, err := client.LoadCredentials(filepath.Join(cfg.DataDir, "agencies", name))
		if err != nil {
			b.Fatal(err)
		}
		if cr.MatchKey, err = provision.DevMatchKey(filepath.Join(cfg.DataDir, "agencies")); err != nil {
			b.Fatal(err)
		}
		mb.creds[name] = cr
	}
	return mb
}
