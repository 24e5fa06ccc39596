package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/delta"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
)

// creditx bench delta: the scale of the exchange (P8, issue 20). It runs
// the demo's scenario for the first N members of the Delta in this process
// (one single-replica region each, notices on, as `creditx demo`), then
// measures what the P8 row of BENCHMARKS.md reports.

func newBenchDeltaCmd() *cobra.Command {
	var n, perMember, listings int
	var timeout, idle, idleAfter time.Duration
	var verbose, loopLog, oneByOne bool
	var cpuprofile, idleProfile, convProfile, convMemProfile string
	cmd := &cobra.Command{
		Use:   "delta --members N",
		Short: "Run N Delta members in this process and report convergence, propagation, idle CPU, memory, sockets and traffic",
		Long: `delta runs the demo's scenario (creditx demo --members N --exit, notices on) for the first N
members of the Delta (the four provinces, then the cities of Jiangsu, Zhejiang and Anhui), then:

  converge     from the first listing submitted (Zhejiang's first authority's; then every other
               authority of every member publishes at once, and the demo's two rules records with them,
               or member after member and authority after authority, the rules records last, with
               --publish-one-by-one) to every ledger mirrored at full size by every
               other member with a witnessed checkpoint, every loop log witnessed at its size and
               copied by its custodians (the demo's "Converged in"); the report also times each part,
               and every loop log followed at its size by every member (a member that is not a
               custodian follows a loop log at most every 10 s), which the probes wait for, and
               the listing submits: their times, the attempts retried and why (status and
               error), and the setup time (dial and TLS handshake) of the connections they opened
  propagation  --probes listings, one at a time from members spread over the N: from the submit
               to the listing being in a witnessed, verified and indexed mirror at all N-1 others
               (p50, p95, max over the probes)
  idle         after the members converged again and --idle-after more with nothing submitted
               (the long-polls' short round after a change; its CPU is reported too), a --idle
               window: CPU-seconds per second of this process (getrusage: every thread, all N
               members), bytes per second fetched over HTTP/3 by all members (bodies), per
               member; --idle-cpuprofile writes a CPU profile of this window alone. A quiet
               long-poll is renewed at every 2-minute boundary of the clock (exchange.QuietRound): a window
               shorter than that sees only part of the renewals
  allocation   garbage collections and bytes allocated during the convergence (on its CPU-s line);
               --converge-memprofile FILE writes the allocs profile at the first listing to FILE.base
               and at convergence to FILE, each after a garbage collection of its own (outside the
               CPU-s and GC counts; it shifts the collector's pace, so time the run without it), with
               runtime.MemProfileRate 64 KiB: the allocations of the convergence alone are
                 go tool pprof -sample_index=alloc_space -base FILE.base creditx FILE
               (alloc_objects for counts)
  memory       resident set (VmRSS) and Go heap in use after the idle window, per member
  sockets      file descriptors of type socket in /proc/self/fd (UDP among them from
               /proc/net/udp*), per member, and goroutines per member

One N per process (sockets and memory of an earlier N would linger). Figures go in
BENCHMARKS.md (P8); note the load average (uptime) beside them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 2 || n > delta.Max {
				return fmt.Errorf("--members %d: want 2 to %d", n, delta.Max)
			}
			if profiles := slices.DeleteFunc([]string{cpuprofile, idleProfile, convProfile}, func(s string) bool { return s == "" }); len(profiles) > 1 {
				return fmt.Errorf("--cpuprofile, --idle-cpuprofile and --converge-cpuprofile: one CPU profile at a time, give only one")
			}
			level := slog.LevelError + 4 // the demo's start-up warnings are noise here
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			out := cmd.OutOrStdout()
			stopProfile, err := startCPUProfile(cpuprofile) // bench.go; the whole run, convergence included
			if err != nil {
				return err
			}
			defer stopProfile()
			var rep deltaReport
			if convMemProfile != "" {
				// Set before the members start, so that every
				// allocation is sampled at this rate (the default
				// is 512 KiB).
				runtime.MemProfileRate = convergeMemProfileRate
			}
			phases := demoPhases{profile: convProfile, memProfile: convMemProfile}
			o := demoOptions{exit: true, perMember: perMember, members: n, timeout: timeout, loopLog: loopLog, phases: &phases, publishAtOnce: !oneByOne,
				measure: func(ctx context.Context, ms []*demoMember, ok bool, took time.Duration) error {
					// The probes and the idle window start once every
					// member also follows every loop log at its size
					// (up to 60 s), which the report times too.
					for end := time.Now().Add(60 * time.Second); ok && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
						d, _, err := demoConvergedParts(ms)
						if err != nil {
							return err
						}
						phases.noteNow(d)
						if d.converged() && d.Followed {
							break
						}
					}
					var err error
					rep, err = measureDelta(ctx, cmd.ErrOrStderr(), ms, ok, took, listings, idleAfter, idle, idleProfile)
					return err
				}}
			err = runDemo(cmd.Context(), io.Discard, logger, o)
			if phases.stopProfile != nil { // the run ended before convergence was decided
				phases.stopProfile()
			}
			if phases.profileErr != nil {
				return fmt.Errorf("--converge-cpuprofile or --converge-memprofile: %w", phases.profileErr)
			}
			if rep.N == 0 {
				if err != nil {
					return err
				}
				return fmt.Errorf("nothing measured")
			}
			rep.Phases = &phases
			fmt.Fprintln(out, rep.String())
			if err != nil {
				fmt.Fprintf(out, "(demo: %v)\n", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "members", 4, fmt.Sprintf("members of the Delta to run, 2 to %d", delta.Max))
	cmd.Flags().IntVar(&perMember, "listings", 2, "sample listings published by each member before convergence")
	cmd.Flags().IntVar(&listings, "probes", 20, "listings whose propagation to all others is timed, one at a time")
	cmd.Flags().DurationVar(&timeout, "timeout", 180*time.Second, "how long to wait for convergence")
	cmd.Flags().DurationVar(&idle, "idle", exchange.QuietRound, "idle window for CPU and traffic (a multiple of exchange.QuietRound holds as many quiet long-poll renewals as a steady idle exchange makes)")
	cmd.Flags().DurationVar(&idleAfter, "idle-after", exchange.CheckpointWaitFresh+5*time.Second, "quiet time between the members settling and the idle window (the long-polls' short round after a change)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	cmd.Flags().BoolVar(&oneByOne, "publish-one-by-one", false, "members publish one after another (the demo's order; until stop 32 the bench's too) instead of at once after Zhejiang")
	cmd.Flags().BoolVar(&loopLog, "loop-log", false, "every member writes its notices and feedback to its loop log (sanctions.loop_log), not its ledger: witnessed, followed by every member (batched raft writes) and copied by 2 custodians (issue 20)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	cmd.Flags().StringVar(&idleProfile, "idle-cpuprofile", "", "write a CPU profile of the idle window only to this file")
	cmd.Flags().StringVar(&convProfile, "converge-cpuprofile", "", "write a CPU profile of the convergence only (first listing to converged) to this file")
	cmd.Flags().StringVar(&convMemProfile, "converge-memprofile", "", "write the allocs profile at the first listing to FILE.base and at convergence to FILE (pprof -base FILE.base: the convergence's allocations)")
	return cmd
}

// convergeMemProfileRate is runtime.MemProfileRate with
// --converge-memprofile: one sample per 64 KiB allocated on average, 8
// times the default, enough to rank allocation sites of a few KB per
// request.
const convergeMemProfileRate = 64 << 10

// deltaReport is one run of bench delta.
type deltaReport struct {
	N                  int
	Converged          bool
	Converge           time.Duration
	PropP50, PropP95   time.Duration
	PropMax            time.Duration
	PropMissed         int     // probes not at every other member within 30 s
	IdleCPU            float64 // CPU-seconds per second
	IdleAfterCPU       float64 // the same in the --idle-after time before the window
	IdleAfter          time.Duration
	IdleWindow         time.Duration
	IdleBytesPerMember float64 // HTTP/3 body bytes per second fetched, per member
	IdleDatagrams      float64 // UDP datagrams sent per second in the idle window, whole network namespace; -1: unknown
	IdleGCs            uint32  // garbage collections in the idle window
	RSS, Heap          uint64  // bytes, whole process
	Sockets, UDP       int
	Goroutines         int
	Redials            uint64 // connections between members redialled after a failed request, whole run
	IdleRedials        uint64 // the same, in the idle window
	Phases             *demoPhases
}

func (r deltaReport) String() string {
	per := func(v float64) float64 { return v / float64(r.N) }
	peers := float64(r.N - 1)
	conv := fmt.Sprintf("%.1f s", r.Converge.Seconds())
	if !r.Converged {
		conv = fmt.Sprintf("NOT converged in %.0f s", r.Converge.Seconds())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "N=%d converge %s | propagation p50 %d ms p95 %d ms max %d ms (missed %d) | idle CPU %.3f CPU-s/s | "+
		"idle fetched %.1f KB/s per member | RSS %.1f MiB per member, heap %.1f MiB per member | "+
		"sockets %.1f per member (UDP %.1f) | goroutines %.0f per member\n",
		r.N, conv, r.PropP50.Milliseconds(), r.PropP95.Milliseconds(), r.PropMax.Milliseconds(), r.PropMissed, r.IdleCPU,
		per(r.IdleBytesPerMember*float64(r.N))/1e3, per(float64(r.RSS))/(1<<20), per(float64(r.Heap))/(1<<20),
		per(float64(r.Sockets)), per(float64(r.UDP)), per(float64(r.Goroutines)))
	fmt.Fprintf(&b, "  idle window %v after %v quiet (%.3f CPU-s/s in those):", r.IdleWindow.Round(time.Second), r.IdleAfter.Round(time.Second), r.IdleAfterCPU)
	if r.IdleDatagrams >= 0 {
		fmt.Fprintf(&b, " UDP datagrams sent %.0f/s (whole network namespace, /proc/net/snmp),", r.IdleDatagrams)
	}
	fmt.Fprintf(&b, " %d GC cycles, %d connections redialled (%d in the whole run)\n", r.IdleGCs, r.IdleRedials, r.Redials)
	fmt.Fprintf(&b, "  growth per member per peer (N-1 = %.0f): sockets %.2f, goroutines %.1f, heap %.0f KiB, idle fetched %.0f B/s, idle CPU %.2f ms/s",
		peers, per(float64(r.Sockets))/peers, per(float64(r.Goroutines))/peers, per(float64(r.Heap))/peers/1024,
		r.IdleBytesPerMember/peers, 1000*per(r.IdleCPU)/peers)
	p := r.Phases
	if p == nil {
		return b.String()
	}
	at := func(d time.Duration) string {
		if d == 0 {
			return "not seen"
		}
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	published := at(p.Published)
	if p.Listings > 0 && p.Rules > 0 {
		published += fmt.Sprintf(" (last listing answered at %.1f s, the rules records at %.1f s)", p.Listings.Seconds(), p.Rules.Seconds())
	}
	fmt.Fprintf(&b, "\n  convergence from the first listing: published %s, ledgers mirrored and witnessed %s, loop logs witnessed %s, "+
		"custodians' copies %s, loop logs followed by all %s; %.1f CPU-s, %d GC cycles, %.0f MB allocated",
		published, at(p.Ledgers), at(p.Loops), at(p.Custody), at(p.Followed), p.CPU1-p.CPU0, p.GC1-p.GC0, float64(p.Alloc1-p.Alloc0)/1e6)
	w := func(a, b uint64) float64 { return per(float64(b - a)) }
	fmt.Fprintf(&b, "\n  work during convergence per member: %.0f exchange raft commands (%.0f follow batches), %.0f loop checkpoints followed "+
		"(%.0f proofs from tiles, %.0f served with the answer, %.0f served and refused, %.0f loop long-poll answers), %.0f loop and %.0f ledger pushes, %.0f HTTP/3 requests, %.0f checkpoint signature checks (%.0f signature lines checked, %.0f accepted from the keys' memory), %.2f mirrors woken again after a quiet long-poll round (a lost wake-up)",
		w(p.Work0.Proposals, p.Work1.Proposals), w(p.Work0.FollowCommands, p.Work1.FollowCommands), w(p.Work0.Follows, p.Work1.Follows),
		w(p.Work0.FollowProofs, p.Work1.FollowProofs), w(p.Work0.ServedProofs, p.Work1.ServedProofs), w(p.Work0.RefusedProofs, p.Work1.RefusedProofs), w(p.Work0.LoopAnswers, p.Work1.LoopAnswers), w(p.Work0.LoopPushes, p.Work1.LoopPushes),
		w(p.Work0.LedgerPushes, p.Work1.LedgerPushes), w(p.Work0.Requests, p.Work1.Requests), w(p.Work0.Checks, p.Work1.Checks),
		w(p.Work0.SigLines, p.Work1.SigLines), w(p.Work0.SigRemembered, p.Work1.SigRemembered),
		w(p.Work0.Rekicks, p.Work1.Rekicks))
	fmt.Fprintf(&b, "\n  exchange commands per member by kind: %.0f mirror appends with entries, %.0f mirror notes (more cosignatures), %.0f witness, %.0f cosigned, %.0f alerts; "+
		"raft per member (all commands): %.0f log writes, %.0f FSM batches (ledger.db commits) of %.0f commands; %.0f ledger.db reads by the exchange",
		w(p.Work0.MirrorAppends, p.Work1.MirrorAppends), w(p.Work0.MirrorNotes, p.Work1.MirrorNotes), w(p.Work0.Witnesses, p.Work1.Witnesses),
		w(p.Work0.Cosigned, p.Work1.Cosigned), w(p.Work0.Alerts, p.Work1.Alerts),
		w(p.Work0.LogWrites, p.Work1.LogWrites), w(p.Work0.RaftBatches, p.Work1.RaftBatches), w(p.Work0.RaftCommands, p.Work1.RaftCommands),
		w(p.Work0.Views, p.Work1.Views))
	if s := slices.Sorted(slices.Values(p.Submits)); len(s) > 0 {
		fmt.Fprintf(&b, "\n  listing submits: %d, p50 %d ms, max %d ms (retries included); %s", len(s), s[len(s)/2].Milliseconds(), s[len(s)-1].Milliseconds(), p.retryReport())
		if c := slices.Sorted(slices.Values(p.Conns)); len(c) > 0 {
			fmt.Fprintf(&b, "; %d new connections, setup (dial and TLS handshake) p50 %d ms, max %d ms", len(c), c[len(c)/2].Milliseconds(), c[len(c)-1].Milliseconds())
		}
	}
	return b.String()
}

// retryReport says how many submit attempts were retried and why, the
// most frequent cause first.
func (p *demoPhases) retryReport() string {
	if len(p.Retries) == 0 {
		return "no attempt retried"
	}
	causes := slices.Collect(maps.Keys(p.Retries))
	slices.SortFunc(causes, func(a, b string) int { return cmp.Or(p.Retries[b]-p.Retries[a], strings.Compare(a, b)) })
	total := 0
	var parts []string
	for _, c := range causes {
		total += p.Retries[c]
		parts = append(parts, fmt.Sprintf("%d× %s", p.Retries[c], c))
	}
	return fmt.Sprintf("%d attempts retried: %s", total, strings.Join(parts, "; "))
}

func measureDelta(ctx context.Context, log io.Writer, ms []*demoMember, ok bool, took time.Duration, probes int, idleAfter, idle time.Duration, idleProfile string) (deltaReport, error) {
	rep := deltaReport{N: len(ms), Converged: ok, Converge: took}
	fmt.Fprintf(log, "N=%d: converged=%v in %v; timing %d probes ...\n", len(ms), ok, took.Round(time.Millisecond), probes)
	var times []time.Duration
	for i := 0; i < probes; i++ {
		src := ms[(i*7)%len(ms)]
		d, err := probePropagation(ctx, ms, src, uint64(5000+i))
		if err != nil {
			return rep, err
		}
		if d < 0 {
			rep.PropMissed++
			continue
		}
		times = append(times, d)
	}
	slices.Sort(times)
	if len(times) > 0 {
		rep.PropP50 = times[len(times)/2]
		rep.PropP95 = times[min(len(times)-1, (len(times)*95+99)/100-1)]
		rep.PropMax = times[len(times)-1]
	}
	// Let the notices the probes caused settle, then measure an idle window.
	settle := time.Now().Add(60 * time.Second)
	for time.Now().Before(settle) {
		if c, err := demoSettled(ms); err != nil || c {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	fetched := func() (sum, redials uint64) {
		for _, m := range ms {
			st, err := m.n.ExchangeStatus()
			if err != nil {
				continue
			}
			for _, mr := range st.Mirrors {
				sum += mr.FetchedBytes
				redials += mr.Redials
			}
		}
		return sum, redials
	}
	// The long-polls answered by the last change are renewed with a short
	// wait once (exchange.CheckpointWaitFresh), then at every
	// exchange.QuietRound boundary of the clock: the window starts after
	// that short round, whose CPU is reported apart, and a window of a
	// multiple of QuietRound holds one renewal per long-poll and round.
	fmt.Fprintf(log, "N=%d: %v quiet, then an idle window of %v ...\n", len(ms), idleAfter, idle)
	ca0, ta0 := cpuSeconds(), time.Now()
	select {
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(idleAfter):
	}
	if d := time.Since(ta0); d > 0 {
		rep.IdleAfter, rep.IdleAfterCPU = d, (cpuSeconds()-ca0)/d.Seconds()
	}
	stopProfile, err := startCPUProfile(idleProfile) // bench.go; the idle window only
	if err != nil {
		return rep, fmt.Errorf("--idle-cpuprofile: %w", err)
	}
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b0, r0 := fetched()
	c0, u0, t0 := cpuSeconds(), udpOutDatagrams(), time.Now()
	select {
	case <-ctx.Done():
		stopProfile()
		return rep, ctx.Err()
	case <-time.After(idle):
	}
	c1, u1, t1 := cpuSeconds(), udpOutDatagrams(), time.Now()
	stopProfile()
	rep.IdleDatagrams = -1
	if u0 >= 0 && u1 >= u0 {
		rep.IdleDatagrams = float64(u1-u0) / t1.Sub(t0).Seconds()
	}
	b1, r1 := fetched()
	rep.Redials, rep.IdleRedials = r1, r1-r0
	rep.IdleCPU = (c1 - c0) / t1.Sub(t0).Seconds()
	rep.IdleWindow = t1.Sub(t0)
	rep.IdleBytesPerMember = float64(b1-b0) / t1.Sub(t0).Seconds() / float64(len(ms))
	rep.RSS = procRSS()
	var mst runtime.MemStats
	runtime.ReadMemStats(&mst)
	rep.Heap = mst.HeapInuse
	rep.IdleGCs = mst.NumGC - m0.NumGC
	rep.Sockets, rep.UDP = procSockets()
	rep.Goroutines = runtime.NumGoroutine()
	return rep, nil
}

// probePropagation publishes one listing at src and returns how long until
// every other member holds it in a witnessed, verified and indexed mirror
// (mirror size past its index, stored checkpoint covering it and witnessed),
// or -1 after 30 s.
func probePropagation(ctx context.Context, ms []*demoMember, src *demoMember, seq uint64) (time.Duration, error) {
	d := synth.Domains[int(seq)%len(synth.Domains)].Domain
	p := src.creds["domain:"+d]
	if p == nil {
		return 0, fmt.Errorf("member %s: no authority for %s", src.spec.Region, d)
	}
	l, err := synth.Listing(seq, synth.Options{Region: src.spec.Region, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
		MatchKey: *p.MatchKey, Domain: d, Now: time.Now().UTC().Add(-2 * time.Second)})
	if err != nil {
		return 0, err
	}
	e, err := p.Sign(l)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	rs, err := submitRetrying(ctx, nil, p, src.n.URL(), e) // demo.go
	if err != nil {
		return 0, fmt.Errorf("member %s: probe listing: %w", src.spec.Region, err)
	}
	idx := rs[0].Index
	waiting := map[*demoMember]bool{}
	for _, m := range ms {
		if m != src {
			waiting[m] = true
		}
	}
	for len(waiting) > 0 {
		if time.Since(start) > 30*time.Second {
			return -1, nil
		}
		for m := range waiting {
			mr, err := m.n.ExchangeMirrorStatus(src.spec.Region) // that mirror only: read every 20 ms
			if err != nil {
				return 0, err
			}
			if mr != nil && mr.Size > idx && mr.Checkpoint > idx && mr.Witnessed {
				delete(waiting, m)
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(start), nil
}

// cpuSeconds is this process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// udpOutDatagrams is the UDP datagrams sent so far in this network
// namespace (OutDatagrams of /proc/net/snmp), -1 if unreadable: loopback
// QUIC packets of the members, and whatever else runs beside them.
func udpOutDatagrams() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	return snmpUDPOut(b)
}

// snmpUDPOut is OutDatagrams of the Udp lines (names, then values) of a
// /proc/net/snmp, -1 if absent or malformed.
func snmpUDPOut(b []byte) int64 {
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		for i, v := range strings.Fields(rest) {
			if i < len(names) && names[i] == "OutDatagrams" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return -1
				}
				return n
			}
		}
	}
	return -1
}

// procRSS is VmRSS from /proc/self/status, in bytes (0 if unreadable).
func procRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// procSockets counts this process's socket file descriptors, and among them
// the UDP ones (inodes listed in /proc/net/udp and udp6).
func procSockets() (all, udp int) {
	udpInodes := map[string]bool{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 9 {
				udpInodes[fs[9]] = true
			}
		}
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(l, "socket:["); ok {
			all++
			if udpInodes[strings.TrimSuffix(inode, "]")] {
				udp++
			}
		}
	}
	return all, udp
}
