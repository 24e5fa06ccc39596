package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/provision"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a node or the ledger (see BENCHMARKS.md)",
	}
	cmd.AddCommand(newBenchIngestCmd(), newBenchCheckCmd(), newBenchDeltaCmd()) // bench_delta.go: P8
	return cmd
}

// publisherCreds finds publishing-agency credentials: dir itself, or the dev
// node layout dir/agencies/publisher.
func publisherCreds(dir string) (*client.Credentials, error) {
	if _, err := os.Stat(filepath.Join(dir, "tls.crt")); err != nil {
		dir = filepath.Join(dir, "agencies", "publisher")
	}
	return client.LoadCredentials(dir)
}

func newBenchIngestCmd() *cobra.Command {
	var nodeURL, dir string
	var n, start uint64
	var conc, batch, size, local int
	var raftTuning raftcluster.Tuning
	var rate float64
	var notices bool
	var cpuprofile, acks, localDir string
	var presign bool
	var proofs string
	cmd := &cobra.Command{
		Use:   "ingest --node URL --data DIR",
		Short: "Submit synthetic signed listings and report records/s and acknowledgement latency",
		Long: `Submit N synthetic, validly signed ~1 KiB listings to a node with the publishing agency's
credentials in DIR (a credentials directory, or a dev node's data directory), C requests in flight,
BATCH records per request. Every acknowledgement means the batch is durable on a raft quorum and
covered by a signed checkpoint. Prints throughput and per-request latency percentiles.

A node limits each client certificate (rate_limit in node.yaml, default 200 requests/s): against
--node, raise or disable it (rate_limit: {per_second: -1}) on the node under test, or the bench
measures the limit (requests then fail with 429). --local disables it.

Records are made and signed by producer goroutines while earlier ones are in flight (--presign: all
of them first, so that the figure is the node's alone). --acks FILE writes one line per acknowledged
record, "<index> <leaf hash hex>", flushed after every acknowledged request: a fault drill checks
that every line is in the ledger after the fault.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var creds *client.Credentials
			var err error
			stopProfile, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stopProfile()
			if local > 0 {
				// The nodes run in this process: give them the garbage
				// collector's target that "creditx serve" gives a node
				// (serve.go), as "bench check --local" does, so the figure
				// is the deployed node's.
				defer nodeGC()()
				var stop func()
				nodeURL, creds, stop, err = localRegion(cmd.Context(), local, localDir, cmd.ErrOrStderr(), notices, raftTuning)
				if err != nil {
					return err
				}
				defer stop()
			} else if creds, err = publisherCreds(dir); err != nil {
				return err
			}
			opts := ingestOptions{URL: nodeURL, Start: start, N: n, Conc: conc, Batch: batch, Size: size, Rate: rate, Presign: presign, Proofs: proofs}
			if acks != "" {
				f, err := os.Create(acks)
				if err != nil {
					return err
				}
				defer f.Close()
				opts.Acks = f
			}
			r, err := benchIngest(cmd.Context(), cmd.ErrOrStderr(), creds, opts)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeURL, "node", "https://127.0.0.1:8443", "node URL")
	cmd.Flags().StringVar(&dir, "data", "creditx-data", "credentials directory or dev node data directory")
	cmd.Flags().Uint64Var(&n, "n", 20000, "records to submit")
	cmd.Flags().Uint64Var(&start, "start", uint64(time.Now().Unix())*1000, "first synthetic sequence number (distinct runs need distinct ranges)")
	cmd.Flags().IntVar(&conc, "concurrency", 16, "requests in flight")
	cmd.Flags().IntVar(&batch, "batch", 50, "records per request")
	cmd.Flags().IntVar(&size, "size", 1024, "approximate bytes per signed record")
	cmd.Flags().BoolVar(&notices, "notices", false, "with --local: let the node issue sanction notices for each listing (about 7 more records per listing, in the background)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "offered load in records/s (0: as fast as the node acknowledges)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of this process (with --local: client and nodes) to FILE")
	cmd.Flags().DurationVar(&raftTuning.HeartbeatTimeout, "raft-heartbeat", 0, "with --local: raft heartbeat and election timeout (0: the node's default)")
	cmd.Flags().DurationVar(&raftTuning.LeaderLeaseTimeout, "raft-lease", 0, "with --local: raft leader lease timeout (0: the node's default)")
	cmd.Flags().StringVar(&acks, "acks", "", "write one line per acknowledged record to FILE: index and leaf hash (hex)")
	cmd.Flags().BoolVar(&presign, "presign", false, "sign every record before the clock starts (measures the node without the client's signing)")
	cmd.Flags().StringVar(&proofs, "proofs", "each", "receipts: each (an inclusion proof per record, the default answer) or batch (one range proof per request, expanded and checked here)")
	cmd.Flags().StringVar(&localDir, "local-dir", "", "with --local: put the region in DIR and keep it (default: a temporary directory, removed)")
	cmd.Flags().IntVar(&local, "local", 0, "start a local region with this many replicas (1 or 3) in a temporary directory and bench it, instead of --node")
	return cmd
}

// IngestReport is the result of benchIngest.
type IngestReport struct {
	Records  uint64
	Requests int
	Elapsed  time.Duration
	Lat      []time.Duration // per request, sorted
	CPU      time.Duration   // this process's user+system CPU during the run (with --local: client and nodes)
}

func (r IngestReport) String() string {
	p := func(q float64) time.Duration {
		if len(r.Lat) == 0 {
			return 0
		}
		return r.Lat[min(len(r.Lat)-1, int(q*float64(len(r.Lat))))]
	}
	return fmt.Sprintf("records: %d in %d requests, %.1fs\nthroughput: %.0f records/s\nack latency per request: p50 %v  p90 %v  p99 %v  max %v\n",
		r.Records, r.Requests, r.Elapsed.Seconds(), float64(r.Records)/r.Elapsed.Seconds(),
		p(0.50).Round(time.Microsecond*100), p(0.90).Round(time.Microsecond*100), p(0.99).Round(time.Microsecond*100), p(1).Round(time.Microsecond*100)) +
		fmt.Sprintf("cpu: %.1fs of this process, %.0f us per record; load average %s\n", r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(max(1, r.Records)), loadAvg())
}

// loadAvg is the machine's 1, 5 and 15 minute load averages ("?" where
// /proc/loadavg cannot be read).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// localRegion starts an n-replica region in this process, in a temporary
// directory, for benchmarks that need no setup. It returns the URL of the
// leader, the publisher's credentials and a stop function.
//
// While it runs it watches which replica leads (every 10 ms) and stop
// reports how often that changed: a leader that steps down under load
// (raft timing too tight for the machine) shows here.
//
// Each of load, if any, runs with the leader and the publisher's credentials
// once the region is seeded (bench check --direct loads listings there).
func localRegion(ctx context.Context, n int, keep string, logw io.Writer, notices bool, tuning raftcluster.Tuning, load ...func(*node.Node, *client.Credentials) error) (string, *client.Credentials, func(), error) {
	dir, err := os.MkdirTemp("", "creditx-bench")
	if err != nil {
		return "", nil, nil, err
	}
	if keep != "" {
		os.Remove(dir)
		if dir, err = filepath.Abs(keep); err != nil {
			return "", nil, nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, nil, err
		}
	}
	var specs []provision.ReplicaSpec
	for i := range n {
		specs = append(specs, provision.ReplicaSpec{ID: fmt.Sprintf("bench-%d", i+1), API: freeLocalAddr(), Raft: freeLocalAddr()})
	}
	cfgs, err := regionConfigs(dir, keep, specs)
	if err != nil {
		return "", nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var g errgroup.Group
	var nodes []*node.Node
	var watch func() int // leader changes since the bench started; set below
	stop := func() {
		if watch != nil {
			fmt.Fprintf(logw, "raft leader changes during the run: %d\n", watch())
		}
		cancel()
		g.Wait()
		if keep == "" {
			os.RemoveAll(dir)
		}
	}
	for _, c := range cfgs {
		if tuning.HeartbeatTimeout > 0 {
			c.Raft.HeartbeatTimeout, c.Raft.ElectionTimeout = tuning.HeartbeatTimeout, tuning.HeartbeatTimeout
		}
		c.Raft.LeaderLeaseTimeout = tuning.LeaderLeaseTimeout
		if !notices {
			c.Sanctions.Agencies = filepath.Join(dir, "no-agencies.yaml") // absent: no notices issued
		}
		// The bench measures the node, not the per-client rate limit, which
		// would hold its single publisher (or executor) certificate to 200
		// requests/s.
		c.RateLimit = node.RateLimitConfig{PerSecond: -1, PublicPerSecond: -1}
		nd, err := node.New(*c)
		if err != nil {
			stop()
			return "", nil, nil, err
		}
		nodes = append(nodes, nd)
		g.Go(func() error { return nd.Run(ctx) })
	}
	for _, nd := range nodes {
		if err := nd.WaitReady(ctx); err != nil {
			stop()
			return "", nil, nil, err
		}
	}
	var leader *node.Node
	for leader == nil {
		for _, nd := range nodes {
			if nd.IsLeader() {
				leader = nd
			}
		}
	}
	if err := leader.SeedDev(ctx, filepath.Join(dir, "agencies")); err != nil {
		stop()
		return "", nil, nil, err
	}
	creds, err := client.LoadCredentials(filepath.Join(dir, "agencies", "publisher"))
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	for _, f := range load {
		if err := f(leader, creds); err != nil {
			stop()
			return "", nil, nil, err
		}
	}
	watch = watchLeader(ctx, nodes)
	fmt.Fprintf(logw, "started a local %d-replica region in %s; leader %s\n", n, dir, leader.URL())
	return leader.URL(), creds, stop, nil
}

// regionConfigs provisions the region in dir, or, when dir is a kept
// region of an earlier run (keep set and its node.yaml files present),
// reads their configurations back so that its ledger is reused as it is.
func regionConfigs(dir, keep string, specs []provision.ReplicaSpec) ([]*node.Config, error) {
	if keep != "" {
		if paths := keptRegion(dir); len(paths) > 0 {
			var cfgs []*node.Config
			for _, p := range paths {
				c, err := node.LoadConfig(p)
				if err != nil {
					return nil, fmt.Errorf("reusing %s: %w", dir, err)
				}
				// This tool built the ledger; reading all of it again at
				// start (~13 min at 10^7 listings here) is no part of a
				// check benchmark.
				c.SkipLedgerScan = true
				cfgs = append(cfgs, c)
			}
			return cfgs, nil
		}
	}
	return provision.PrepareRegion(dir, "330000", specs)
}

// keptRegion returns the node.yaml files of a region provisioned in dir
// by an earlier run (none if there is none).
func keptRegion(dir string) []string {
	if _, err := os.Stat(filepath.Join(dir, "node.yaml")); err == nil {
		return []string{filepath.Join(dir, "node.yaml")}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "node.yaml"))
	return paths
}

func freeLocalAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCPUProfile starts a CPU profile of this process written to path, and
// returns the function that stops it and closes the file ("" profiles
// nothing).
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// watchLeader polls which of nodes leads every 10 ms until ctx ends and
// returns a function reporting how many times that changed (a moment
// without a leader counts as a change).
func watchLeader(ctx context.Context, nodes []*node.Node) func() int {
	var changes atomic.Int64
	leading := func() int {
		for i, nd := range nodes {
			if nd.IsLeader() {
				return i
			}
		}
		return -1
	}
	go func() {
		last := leading()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if l := leading(); l != last {
					changes.Add(1)
					last = l
				}
			}
		}
	}()
	return func() int { return int(changes.Load()) }
}
