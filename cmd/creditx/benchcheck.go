package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func newBenchCheckCmd() *cobra.Command {
	var nodeURL, dir, action string
	var listings, start uint64
	var n, conc, local, batch, warmup, conns int
	var notices, direct bool
	var cpuprofile, loadprofile, localDir string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Measure subject checks over HTTPS: checks/s and latency percentiles",
		Long: `With --local 1 (or 3), start a local region, load it with --listings synthetic listings, then send
--n GET /v1/check requests (action procurement) from --concurrency clients as the executing agency, for
subjects drawn at random: half listed, half never listed. Against a running node (--node, --data), the
subjects are the synthetic enterprises numbered from --start, as loaded by "creditx bench ingest";
raise or disable the node's rate_limit (default 200 requests/s per certificate) first, as for
"creditx bench ingest". --local disables it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > 1000 {
				return fmt.Errorf("--batch: give 1 to 1000 subjects per request, got %d", batch)
			}
			if conns < 1 || conns > conc {
				return fmt.Errorf("--conns: give 1 to --concurrency (%d) connections, got %d", conc, conns)
			}
			ctx := cmd.Context()
			var exe *client.Credentials
			var err error
			if local > 0 {
				defer nodeGC()() // serve.go: the node runs in this process
				var load []func(*node.Node, *client.Credentials) error
				reuse := localDir != "" && len(keptRegion(localDir)) > 0
				if reuse {
					fmt.Fprintf(cmd.ErrOrStderr(), "reusing the region kept in %s (loaded with --listings %d by an earlier run)\n", localDir, listings)
				}
				if direct && !reuse {
					if notices || local != 1 {
						return fmt.Errorf("--direct loads one replica's ledger without raft: give --local 1 --notices=false")
					}
					load = append(load, func(leader *node.Node, pub *client.Credentials) error {
						stop, err := startCPUProfile(loadprofile)
						if err != nil {
							return err
						}
						defer stop()
						return loadDirect(ctx, cmd.ErrOrStderr(), leader, pub, start, listings, 1024) // benchdirect.go
					})
				}
				url, pub, stop, err := localRegion(ctx, local, localDir, cmd.ErrOrStderr(), notices, raftcluster.Tuning{}, load...)
				if err != nil {
					return err
				}
				defer stop()
				nodeURL = url
				if !direct && !reuse {
					if _, err := benchIngest(ctx, cmd.ErrOrStderr(), pub, ingestOptions{URL: url, Start: start, N: listings, Conc: 16, Batch: 200, Size: 1024}); err != nil {
						return err
					}
				}
				exe, err = client.LoadCredentials(filepath.Join(filepath.Dir(pub.Dir), "executor"))
				if err != nil {
					return err
				}
				// Each listing makes the node issue sanction notices in the
				// background; measure checks only once that has settled.
				if err := settle(ctx, cmd.ErrOrStderr(), exe, url); err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), storageReport(filepath.Dir(filepath.Dir(pub.Dir)), listings))
			} else if exe, err = client.LoadCredentials(filepath.Join(dir, "agencies", "executor")); err != nil {
				return err
			}
			exes := []*client.Credentials{exe}
			for len(exes) < conns { // each its own transport, so its own connection
				c, err := client.LoadCredentials(exe.Dir)
				if err != nil {
					return err
				}
				exes = append(exes, c)
			}
			if warmup > 0 {
				// Touch the index pages first (bbolt reads through mmap: a
				// page's first read faults it in), then measure.
				w, err := benchChecks(ctx, cmd.ErrOrStderr(), exes, nodeURL, start, listings, warmup, conc, batch, action, 1000) // other subjects than the measured ones
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "warm-up:\n%s", w)
			}
			stopProfile, err := startCPUProfile(cpuprofile) // the checks only, not the loading
			if err != nil {
				return err
			}
			defer stopProfile()
			r, err := benchChecks(ctx, cmd.ErrOrStderr(), exes, nodeURL, start, listings, n, conc, batch, action, 0)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "node URL")
	cmd.Flags().StringVar(&dir, "data", "creditx-data", "dev node data directory (for the executor's credentials)")
	cmd.Flags().StringVar(&action, "action", "procurement", "action to check")
	cmd.Flags().Uint64Var(&listings, "listings", 100000, "listings to load (with --local) / loaded (without)")
	cmd.Flags().Uint64Var(&start, "start", 1, "first synthetic sequence number of the loaded listings")
	cmd.Flags().IntVar(&n, "n", 100000, "checks to send")
	cmd.Flags().IntVar(&conc, "concurrency", 32, "requests in flight")
	cmd.Flags().IntVar(&conns, "conns", 1, "HTTPS connections the clients share (client i uses connection i mod conns): 1 multiplexes every request on one HTTP/2 connection, whose single reader and writer on each side then serialise them")
	cmd.Flags().BoolVar(&notices, "notices", true, "with --local: let the node issue sanction notices for each listing (about 7 more records per listing); --notices=false loads large numbers of listings faster")
	cmd.Flags().IntVar(&batch, "batch", 1, "subjects per request: 1 sends GET /v1/check, more sends POST /v1/check with that many subjects (at most 1000); latencies are per request")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the checks to FILE")
	cmd.Flags().IntVar(&warmup, "warmup", 0, "send this many checks first (reported apart), so that the measured ones find the index pages mapped")
	cmd.Flags().BoolVar(&direct, "direct", false, "with --local 1 --notices=false: sign the listings on every core and append them through the leader's FSM apply step (node.LoadDirect: indexing included, no raft, HTTP or admission), so that 10^7 listings load in minutes")
	cmd.Flags().StringVar(&localDir, "local-dir", "", "with --local: put the region in DIR and keep it; if DIR holds a region kept by an earlier run, start that one as it is (give the same --listings) instead of loading, so that a 10^7-listing ledger is loaded once and measured many times")
	cmd.Flags().StringVar(&loadprofile, "load-cpuprofile", "", "with --direct: write a CPU profile of the direct load to FILE")
	cmd.Flags().IntVar(&local, "local", 0, "start a local region with this many replicas and load it first")
	return cmd
}

// CheckReport is the result of benchChecks.
type CheckReport struct {
	Checks, Requests, Restricted int
	Elapsed                      time.Duration
	Lat                          []time.Duration
	// CPU is the user+system CPU time of this whole process (node and
	// clients) during the checks: on a shared machine, checks per
	// CPU-second say more than checks per second.
	CPU time.Duration
}

func (r CheckReport) String() string {
	p := func(q float64) time.Duration { return r.Lat[min(len(r.Lat)-1, int(q*float64(len(r.Lat))))] }
	return fmt.Sprintf("checks: %d (%d restricted) in %d requests, %.1fs\nthroughput: %.0f checks/s\nlatency per request: p50 %v  p90 %v  p99 %v  max %v\ncpu: %.1fs user+sys in this process (node and clients) = %.0f us per check = %.0f checks per CPU-second\n",
		r.Checks, r.Restricted, r.Requests, r.Elapsed.Seconds(), float64(r.Checks)/r.Elapsed.Seconds(),
		p(0.5).Round(10*time.Microsecond), p(0.9).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), p(1).Round(10*time.Microsecond),
		r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(max(r.Checks, 1)), float64(r.Checks)/max(r.CPU.Seconds(), 1e-9))
}

// seed offsets the clients' random streams (the warm-up draws other
// subjects than the measured run).
func benchChecks(ctx context.Context, progress io.Writer, exes []*client.Credentials, url string, start, listings uint64, n, conc, batch int, action string, seed uint64) (CheckReport, error) {
	if batch < 1 || batch > 1000 {
		return CheckReport{}, fmt.Errorf("--batch: give 1 to 1000 subjects per request, got %d", batch)
	}
	region := exes[0].Identity.Region
	bar := progressbar.NewOptions(n, progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("checks"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))
	var next, restricted, checks atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n/batch+1)
	begin, cpu0 := time.Now(), cpuTime()
	g, gctx := errgroup.WithContext(ctx)
	for w := range conc {
		exe := exes[w%len(exes)]
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(seed+uint64(w), 7))
			subject := func() string {
				seq := start + rng.Uint64N(max(listings, 1))
				if rng.IntN(2) == 0 {
					seq += 50_000_000 // never listed
				}
				return synth.EnterpriseUSCC(region, seq)
			}
			for {
				hi := next.Add(int64(batch))
				k := min(int64(batch), int64(n)-(hi-int64(batch)))
				if k <= 0 {
					return nil
				}
				t := time.Now()
				var answers []checkReply
				if batch == 1 {
					var a checkReply
					sub := subject()
					if err := exe.Get(gctx, url+"/v1/check?action="+action+"&subject="+sub, &a); err != nil {
						return err
					}
					if err := a.check(sub); err != nil {
						return err
					}
					answers = append(answers, a)
				} else {
					req := node.BatchCheckRequest{Action: action}
					for range k {
						req.Subjects = append(req.Subjects, subject())
					}
					body, err := json.Marshal(req)
					if err != nil {
						return err
					}
					if err := exe.Post(gctx, url+"/v1/check", body, &answers); err != nil {
						return err
					}
					if len(answers) != int(k) {
						return fmt.Errorf("POST /v1/check with %d subjects answered %d", k, len(answers))
					}
					for i, a := range answers {
						if err := a.check(req.Subjects[i]); err != nil {
							return err
						}
					}
				}
				d := time.Since(t)
				for _, a := range answers {
					if a.Result == "restricted" {
						restricted.Add(1)
					}
				}
				checks.Add(k)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				bar.Add(int(k))
			}
		})
	}
	err := g.Wait()
	bar.Finish()
	fmt.Fprintln(progress)
	slices.Sort(lat)
	if len(lat) == 0 {
		return CheckReport{}, fmt.Errorf("no check completed: %w", err)
	}
	return CheckReport{Checks: int(checks.Load()), Requests: len(lat), Restricted: int(restricted.Load()), Elapsed: time.Since(begin), Lat: lat, CPU: cpuTime() - cpu0}, err
}

// checkReply is the part of a check answer (api.CheckAnswer) the bench
// reads: the JSON is still read whole and must be well-formed, but the
// fields the bench never looked at (proofs, checkpoints, measures, the
// time) are skipped instead of decoded, which took 15-18 us of CPU per
// answer, a fifth of a single-subject check's.
type checkReply struct {
	Subject string `json:"subject"`
	Result  string `json:"result"`
}

// check refuses an answer for another subject than asked, or without a
// result.
func (a checkReply) check(subject string) error {
	if a.Subject != subject {
		return fmt.Errorf("check of %s answered for %q", subject, a.Subject)
	}
	if a.Result != "allowed" && a.Result != "restricted" {
		return fmt.Errorf("check of %s: result %q", subject, a.Result)
	}
	return nil
}

// settle waits until the node's ledger has not grown for two seconds.
func settle(ctx context.Context, w io.Writer, c *client.Credentials, url string) error {
	var last uint64
	stable := 0
	for stable < 4 {
		var st node.Status
		if err := c.Get(ctx, url+"/v1/status", &st); err != nil {
			return err
		}
		if st.Size == last {
			stable++
		} else {
			fmt.Fprintf(w, "\rwaiting for the ledger to settle (sanction notices being issued): size %d ", st.Size)
			last, stable = st.Size, 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintln(w)
	return nil
}

// storageReport says how much disk the loaded region takes per listing
// (ledger entries, tiles, checkpoints and every index, in ledger.db; the
// raft log beside it) and the Go heap in use, for P3's "index memory and
// disk per listing". root is the local region's directory.
func storageReport(root string, listings uint64) string {
	var b strings.Builder
	dbs, _ := filepath.Glob(filepath.Join(root, "*", "ledger.db"))
	if len(dbs) == 0 {
		dbs, _ = filepath.Glob(filepath.Join(root, "ledger.db"))
	}
	for _, db := range dbs {
		fi, err := os.Stat(db)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "storage: %s %.1f MiB = %.0f B per listing (entries, tiles, checkpoints, indexes; bbolt file size)\n",
			filepath.Base(filepath.Dir(db))+"/ledger.db", float64(fi.Size())/(1<<20), float64(fi.Size())/float64(max(listings, 1)))
		break
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&b, "memory: Go heap in use %.1f MiB (node and client; the index itself is in bbolt's page cache, not the heap)\n", float64(ms.HeapInuse)/(1<<20))
	return b.String()
}
