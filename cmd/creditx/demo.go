package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/creditx/creditx/audit"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/delta"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

// demoMembers are the four provinces of the demo.
var demoMembers = demoSpecs(4)

// demoSpecs are the first n members of the Delta (internal/delta: the four
// provinces, then the cities of Jiangsu, Zhejiang and Anhui).
func demoSpecs(n int) []provision.MemberSpec {
	var out []provision.MemberSpec
	for _, m := range delta.Members(n) {
		out = append(out, provision.MemberSpec{Region: m.Code, Name: m.En})
	}
	return out
}

func newDemoCmd() *cobra.Command {
	var (
		dataDir, outDir, join string
		exit, verbose         bool
		keep, loopLog         bool
		perMember, nMembers   int
		timeout               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Shanghai, Jiangsu, Zhejiang and Anhui on loopback, exchanging and witnessing listings",
		Long: `demo prepares four members (one single-replica region each, with a consortium manifest),
starts them in this process on loopback, publishes sample listings in each of the four domains in
every member, waits until every ledger is mirrored, verified and witnessed by the others, and prints
a summary with the URLs to look at. It keeps running until interrupted, unless --exit is given.

With --out DIR it writes, for every member, its own ledger and each mirror as static tlog-tiles
trees under DIR/<member>/<origin code>/ (vkey; checkpoint with its cosignature lines), with
--loop-log its loop log (sanction notices and feedback) under DIR/<member>/<member>-loop/, verifies
every tree, copies the consortium manifest (every member's log, witness and anchor keys and the
witness quorum) to DIR/manifest.yaml, so that "creditx audit --dir DIR" checks against it, and with
--exit exits 0 only when every mirror verified and every checkpoint is witnessed.

The members' data (keys, agency credentials under DATA/<member>/agencies/, the manifest) go to
--data, or to a new temporary directory that the demo removes when it ends, on every path (--exit,
an error, Ctrl-C, SIGTERM) unless --keep is given. With --exit nothing is left running, so no server
URLs are printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// Members start one after another, so the first witnessing rounds meet
			// peers not yet up (warnings); the summary reports the state reached.
			level := slog.LevelError
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return runDemo(ctx, cmd.OutOrStdout(), logger, demoOptions{dir: dataDir, out: outDir, exit: exit, keep: keep, perMember: perMember, members: nMembers, timeout: timeout, join: join, loopLog: loopLog,
				progress: terminalOrNil(cmd.ErrOrStderr())})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "directory for the members' data (default: a new temporary directory)")
	cmd.Flags().StringVar(&outDir, "out", "", "write every member's ledger and mirrors as tlog-tiles trees under this directory")
	cmd.Flags().BoolVar(&exit, "exit", false, "exit after the scenario (status 0 only if everything verified and is witnessed)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary data directory (keys, credentials) when the demo ends")
	cmd.Flags().IntVar(&nMembers, "members", 4, fmt.Sprintf("how many members of the Delta to run (up to %d): the four provinces, then the cities of Jiangsu, Zhejiang and Anhui", delta.Max))
	cmd.Flags().IntVar(&perMember, "listings", 8, "sample listings published by each member (spread over the four domains)")
	cmd.Flags().DurationVar(&timeout, "timeout", 90*time.Second, "how long to wait for replication and witnessing")
	cmd.Flags().StringVar(&join, "join", "", "after the founders started, join this city live through the member commands' code paths, e.g. 330100")
	cmd.Flags().BoolVar(&loopLog, "loop-log", false, "every member writes its sanction notices and their feedback to its loop log (sanctions.loop_log), whose key the manifest then carries; --out writes each as DIR/<member>/<member>-loop/")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging (default: errors only; the summary reports each member's state)")
	return cmd
}

type demoOptions struct {
	dir, out  string
	exit      bool
	keep      bool // keep the temporary data directory made when dir is ""
	perMember int
	members   int // how many Delta members (0: the four provinces)
	timeout   time.Duration
	progress  io.Writer // mirroring progress, one line redrawn; nil: none
	join      string    // a city to join live after the founders started (demo_join.go); "" none
	loopLog   bool      // sanctions.loop_log on every member (bench delta --loop-log; internal/notices/loop.go)
	// measure, if set, runs once convergence was reached or timed out,
	// while the members still run (bench_delta.go).
	measure func(ctx context.Context, members []*demoMember, converged bool, took time.Duration) error
	// publishAtOnce: after Zhejiang, every member publishes its listings
	// at the same time (bench delta), not one member after another.
	publishAtOnce bool
	// phases, if set, receives when each part of convergence was first
	// seen, from the first listing submitted (bench_delta.go).
	phases *demoPhases
}

type demoMember struct {
	spec  provision.MemberSpec
	cfg   node.Config
	n     *node.Node
	done  chan error
	creds map[string]*client.Credentials
}

func runDemo(ctx context.Context, out io.Writer, logger *slog.Logger, o demoOptions) (err error) {
	temp := false
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "creditx-demo-"); err != nil {
			return err
		}
		temp = true
		if !o.keep {
			// Registered first, so it runs last: after the members stopped
			// (the deferred cancel and wg.Wait below) and closed their files.
			// It holds the region CAs' and admins' private keys.
			dir := o.dir
			defer func() {
				if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
					err = fmt.Errorf("removing the demo's data directory: %w", rerr)
				}
			}()
		}
	}
	if entries, _ := os.ReadDir(o.dir); len(entries) > 0 {
		return fmt.Errorf("--data %s is not empty; the demo prepares fresh members", o.dir)
	}
	if o.members == 0 {
		o.members = len(demoMembers)
	}
	if o.members < 2 || o.members > delta.Max {
		return fmt.Errorf("--members %d: want 2 to %d", o.members, delta.Max)
	}
	specs := demoSpecs(o.members)
	for _, s := range specs {
		if s.Region == o.join {
			return fmt.Errorf("--join %s: already one of the %d members", o.join, o.members)
		}
	}
	addrs, err := freeLoopback(2 * len(specs))
	if err != nil {
		return err
	}
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	fmt.Fprintf(out, "Preparing %d members in %s ...\n", len(specs), o.dir)
	cfgs, manifest, err := provision.PrepareConsortium(o.dir, specs)
	if err != nil {
		return err
	}
	if manifest, err = demoLoopManifest(o.dir, manifest, o.loopLog); err != nil { // demo_looplog.go
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var members []*demoMember
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	var progressMu sync.Mutex
	copies := map[string][2]uint64{} // "member origin" -> done, total; guarded by progressMu
	barOn := false                   // the bar is drawn once the summary lines are out; guarded by progressMu
	for i, cfg := range cfgs {
		c := *cfg
		c.Logger = logger.With("member", c.Region)
		c.Sanctions.LoopLog = c.Sanctions.LoopLog || o.loopLog
		n, err := node.New(c)
		if err != nil {
			return fmt.Errorf("member %s: %w", c.Region, err)
		}
		code := c.Region
		n.OnMirrorProgress(func(origin string, done, total uint64) {
			progressMu.Lock()
			defer progressMu.Unlock()
			copies[code+" "+origin] = [2]uint64{done, total}
			if o.progress == nil || !barOn {
				return
			}
			var d, t uint64
			for _, c := range copies {
				d, t = d+c[0], t+c[1]
			}
			fmt.Fprintf(o.progress, "\r  mirrored %s entries, %d of %d copies  ", demoBar(d, t), len(copies), len(cfgs)*(len(cfgs)-1))
		})
		m := &demoMember{spec: specs[i], cfg: c, n: n, done: make(chan error, 1), creds: map[string]*client.Credentials{}}
		wg.Add(1)
		go func() { defer wg.Done(); m.done <- n.Run(rctx) }()
		members = append(members, m)
	}
	for _, m := range members {
		wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
		err := m.n.WaitReady(wctx)
		wcancel()
		if err != nil {
			return fmt.Errorf("member %s not ready: %w", m.spec.Region, err)
		}
		if err := m.n.SeedDev(ctx, filepath.Join(m.cfg.DataDir, "agencies")); err != nil {
			return fmt.Errorf("member %s: registering sample agencies: %w", m.spec.Region, err)
		}
		for _, name := range []string{"admin", "publisher", "auditor"} {
			if m.creds[name], err = client.LoadCredentials(filepath.Join(m.cfg.DataDir, "agencies", name)); err != nil {
				return err
			}
		}
		// Each domain's listings come from a realistic authority of the
		// member (浙江省生态环境厅, 上海市文化和旅游局, ...), registered here.
		byDomain, err := provision.IssueDomainAuthorities(ctx, m.cfg.DataDir, m.n.URL(), m.creds["admin"])
		if err != nil {
			return fmt.Errorf("member %s: %w", m.spec.Region, err)
		}
		for d, c := range byDomain {
			// The demo plays each credit office: the agencies hold no match key.
			if c.MatchKey, err = provision.DevMatchKey(filepath.Join(m.cfg.DataDir, "agencies")); err != nil {
				return err
			}
			m.creds["domain:"+d] = c
		}
	}
	fmt.Fprintf(out, "Publishing %d sample listings in each member (domains: %s) ...\n", o.perMember, domainNames())
	var probe *schemas.Listing
	// Zhejiang publishes first, so its first listing follows its own
	// governance records at a fixed index (the README's provenance example)
	// before any notice for another member's listing can land in its ledger.
	var publishing []*demoMember
	for _, m := range members {
		if m.spec.Region == "330000" {
			publishing = append([]*demoMember{m}, publishing...)
		} else {
			publishing = append(publishing, m)
		}
	}
	type batch struct {
		p       *client.Credentials
		entries [][]byte
	}
	batches := make([][]batch, len(publishing)) // per member (Zhejiang first), in order of authority
	for k, m := range publishing {
		byAuth := map[*client.Credentials]int{}
		for i := 0; i < o.perMember; i++ {
			d := synth.Domains[i%len(synth.Domains)].Domain
			p := m.creds["domain:"+d]
			if p == nil {
				return fmt.Errorf("member %s: no sample authority for domain %s", m.spec.Region, d)
			}
			l, err := synth.Listing(uint64(i), synth.Options{Region: m.spec.Region, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
				MatchKey: *p.MatchKey, Domain: d, Now: time.Now().UTC().Add(-2 * time.Second)})
			if err != nil {
				return err
			}
			if m.spec.Region == "330000" && probe == nil {
				probe = l
			}
			e, err := p.Sign(l)
			if err != nil {
				return err
			}
			at, ok := byAuth[p]
			if !ok {
				at = len(batches[k])
				byAuth[p] = at
				batches[k] = append(batches[k], batch{p: p})
			}
			batches[k][at].entries = append(batches[k][at].entries, e)
		}
	}
	// The clock starts at the first listing submitted (the listings are
	// prepared and signed before, as their agencies would).
	o.phases.mark(members, true)
	start := time.Now()
	if o.phases != nil {
		o.phases.start = start
	}
	submit := func(k, j int) error {
		m, b := publishing[k], batches[k][j]
		t0 := time.Now()
		if _, err := submitRetrying(ctx, o.phases, b.p, m.n.URL(), b.entries...); err != nil {
			return fmt.Errorf("member %s: publishing as %s: %w", m.spec.Region, b.p.Identity.Name, err)
		}
		o.phases.submitted(time.Since(t0))
		o.phases.listed()
		return nil
	}
	rules := func() error {
		err := demoRulesRecords(ctx, out, members, probe) // demo_loop.go
		o.phases.rulesDone()
		return err
	}
	if err := publishListings(batchCounts(batches), o.publishAtOnce, submit, rules); err != nil {
		return err
	}
	if o.phases != nil {
		o.phases.Published = time.Since(start)
	}
	var joinProbe *schemas.Listing
	if o.join != "" { // demo_join.go
		city, inForce, l, err := demoJoin(ctx, rctx, &wg, out, logger, o, members)
		if err != nil {
			return err
		}
		members, manifest, joinProbe = append(members, city), inForce, l
	}
	fmt.Fprintln(out, "Waiting until every ledger is mirrored, verified and witnessed by the others ...")
	progressMu.Lock()
	barOn = true
	progressMu.Unlock()
	defer func() {
		progressMu.Lock()
		defer progressMu.Unlock()
		if o.progress != nil {
			fmt.Fprintln(o.progress)
			o.progress = nil
		}
	}()
	deadline := time.Now().Add(o.timeout)
	var ok bool
	var took time.Duration
	// Converged when it held at two reads at least a second apart with
	// the same sizes (a notice not yet issued would grow a loop log), from
	// the first of them.
	var since time.Duration
	var sinceSum uint64
	for {
		parts, sum, err := demoConvergedParts(members)
		if err != nil {
			return err
		}
		now := time.Since(start)
		o.phases.note(parts, now)
		switch {
		case !parts.converged():
			since = 0
		case since == 0 || sum != sinceSum:
			since, sinceSum = now, sum
		case now-since >= time.Second:
			ok, took = true, since
		}
		if ok || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !ok {
		took = time.Since(start)
	}
	progressMu.Lock()
	if o.progress != nil {
		fmt.Fprintln(o.progress)
		o.progress = nil // the bar is done; late callbacks print nothing
	}
	progressMu.Unlock()
	o.phases.mark(members, false)
	if ok {
		fmt.Fprintf(out, "Converged in %v.\n\n", took.Round(time.Millisecond))
	} else {
		fmt.Fprintf(out, "NOT converged after %v.\n\n", o.timeout)
	}
	if o.measure != nil {
		if err := o.measure(ctx, members, ok, took); err != nil {
			return err
		}
	}
	if err := printDemoSummary(out, members, manifest, !o.exit); err != nil {
		return err
	}
	if probe != nil {
		sh := members[0]
		var res node.CheckAnswer
		if err := sh.creds["auditor"].Get(ctx, sh.n.URL()+"/v1/check?subject="+url.QueryEscape(probe.Subject.USCC), &res); err != nil {
			return err
		}
		host := sh.n.URL()
		if o.exit {
			host = "" // the server is gone when this is read
		}
		fmt.Fprintf(out, "\nA Zhejiang listing checked in Shanghai: GET %s/v1/check?subject=%s -> %s", host, probe.Subject.USCC, res.Result)
		for _, l := range res.Listings {
			fmt.Fprintf(out, " (%s #%d, %s, %s)", l.Ref.Origin, l.Ref.Index, l.Domain, l.State)
		}
		fmt.Fprintln(out)
		ok = ok && res.Result == "restricted"
	}
	if joinProbe != nil {
		sh := members[0]
		var res node.CheckAnswer
		if err := sh.creds["auditor"].Get(ctx, sh.n.URL()+"/v1/check?subject="+url.QueryEscape(joinProbe.Subject.USCC), &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "A %s listing checked in Shanghai: GET %s/v1/check?subject=%s -> %s\n", o.join, sh.n.URL(), joinProbe.Subject.USCC, res.Result)
		ok = ok && res.Result == "restricted"
	}
	var loopsUnwitnessed []string // members whose exported loop log is not witnessed (demo_looplog.go)
	if o.out != "" {
		vok, unwitnessed, err := demoExport(ctx, out, members, manifest, filepath.Join(o.dir, "manifest.yaml"), o.out)
		loopsUnwitnessed = unwitnessed
		if err != nil {
			return err
		}
		// The manifest beside the trees makes "creditx audit --dir OUT" check
		// cosignatures and agency signatures against the consortium's keys.
		mf, err := os.ReadFile(filepath.Join(o.dir, "manifest.yaml"))
		if err != nil {
			return err
		}
		if o.join != "" { // the manifest in force, with the city's keys, and the genesis the audit replays (demo_join.go)
			genesis := mf
			if err := writeFileAtomic(filepath.Join(o.out, audit.GenesisFile), func(w io.Writer) error { _, err := w.Write(genesis); return err }); err != nil {
				return err
			}
			if mf, err = manifest.Encode(); err != nil {
				return err
			}
		}
		if err := writeFileAtomic(filepath.Join(o.out, "manifest.yaml"), func(w io.Writer) error { _, err := w.Write(mf); return err }); err != nil {
			return err
		}
		ok = ok && vok
	}
	if o.out != "" {
		fmt.Fprintf(out, "\nAudit it offline: creditx audit --dir %s  (trust: %s)\n", o.out, filepath.Join(o.out, "manifest.yaml"))
	}
	if temp && o.keep {
		fmt.Fprintf(out, "Data kept in %s (keys and credentials: remove it when done).\n", o.dir)
	}
	if !o.exit {
		// Only while the members run: with --exit they are gone.
		fmt.Fprintf(out, "\nWhere to look (client certificates: %s/<member>/agencies/{admin,auditor,...}):\n", o.dir)
		for _, m := range members {
			u := m.n.URL()
			fmt.Fprintf(out, "  %s %-9s pages: %s/ (public register)  %s/status  %s/audit (auditor)\n", m.spec.Region, m.spec.Name, u, u, u)
			fmt.Fprintf(out, "  %s %-9s API:   %s/v1/exchange  %s/v1/status  %s/ledger/%s/checkpoint  %s/v1/alerts (auditor)\n",
				"", "", u, u, u, m.spec.Region, u)
		}
		fmt.Fprintf(out, "  manifest: %s\n", filepath.Join(o.dir, "manifest.yaml"))
	}
	if o.exit {
		if !ok {
			return &exitError{code: 1, msg: "demo: not every mirror verified and every checkpoint witnessed"}
		}
		if len(loopsUnwitnessed) > 0 {
			fmt.Fprintf(out, "\nOK: every mirror verified, every ledger checkpoint witnessed; the loop logs of %s are NOT witnessed (the audit names them).\n", strings.Join(loopsUnwitnessed, ", "))
			return nil
		}
		fmt.Fprintln(out, "\nOK: every mirror verified, every checkpoint witnessed.")
		return nil
	}
	if temp && !o.keep {
		fmt.Fprintln(out, "\nRunning; press Ctrl-C to stop. The temporary data directory is removed then (--keep keeps it).")
	} else {
		fmt.Fprintln(out, "\nRunning; press Ctrl-C to stop.")
	}
	<-ctx.Done()
	return nil
}

// submitRetrying is p.Submit, repeated (up to 5 times, 1 s apart) while
// the node answers 503 or the connection drops: a region that could not
// commit in time says "safe to retry" (many members starting at once on a
// busy machine, issue 20), and a resubmission is deduplicated. Each retried
// failure, and the setup time of each new connection, is noted in ph (nil:
// nothing noted; bench delta's report).
func submitRetrying(ctx context.Context, ph *demoPhases, p *client.Credentials, url string, entries ...[]byte) ([]node.Receipt, error) {
	for attempt := 1; ; attempt++ {
		rs, err := p.Submit(ph.trace(ctx), url, entries...)
		var se *client.SubmitError
		if err == nil || attempt == 5 || ctx.Err() != nil || errors.As(err, &se) && se.Status != http.StatusServiceUnavailable {
			return rs, err
		}
		ph.retried(err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func domainNames() string {
	var s []string
	for _, d := range synth.Domains {
		s = append(s, d.Domain)
	}
	return strings.Join(s, ", ")
}

func demoBar(done, total uint64) string {
	const w = 30
	if total == 0 {
		total = 1
	}
	k := int(done * w / total)
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", k), strings.Repeat(".", w-k), done, total)
}

// printDemoSummary prints the members' table; the URL column only when
// urls (the members keep running: not with --exit).
func printDemoSummary(out io.Writer, ms []*demoMember, m *exchange.Manifest, urls bool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	urlHead := "\tURL"
	if !urls {
		urlHead = ""
	}
	fmt.Fprintf(tw, "MEMBER\tNAME\tOWN SIZE\tWITNESSED\tMIRRORS (code:size, w = witnessed checkpoint)\tALERTS%s\n", urlHead)
	for _, mb := range ms {
		st, err := mb.n.ExchangeStatus()
		if err != nil {
			return err
		}
		w := "no"
		if st.Witnessed == st.Size && st.Size > 0 {
			w = fmt.Sprintf("yes (%d/%d)", st.Witnessed, st.Size)
		} else if st.Witnessed > 0 {
			w = fmt.Sprintf("behind (%d/%d)", st.Witnessed, st.Size)
		}
		var mirrors []string
		for _, mr := range st.Mirrors {
			mirrors = append(mirrors, mirrorCell(mr))
		}
		u := "\t" + mb.n.URL()
		if !urls {
			u = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d%s\n", st.Region, mb.spec.Name, st.Size, w, strings.Join(mirrors, " "), st.Alerts, u)
	}
	fmt.Fprintf(tw, "(OWN SIZE counts every record in the member's ledger: the governance records registering its\n"+
		" agencies' keys, its own listings, and the sanction notices it issued to its agencies for every member's listings.\n"+
		" Witness quorum: %d cosignatures by other members.)\n", m.WitnessQuorum)
	return tw.Flush()
}

// demoExport writes and verifies every member's trees.
func demoExport(ctx context.Context, out io.Writer, ms []*demoMember, m *exchange.Manifest, manifestPath, dir string) (bool, []string, error) {
	fmt.Fprintf(out, "\nExporting tlog-tiles trees to %s ...\n", dir)
	// A ledger can still grow after convergence (a late sanction notice),
	// and its newest checkpoint is cosigned a moment after it is signed:
	// export again, for up to 30 s, until every tree verifies and every
	// checkpoint exported is witnessed. Only the last attempt is printed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rows bytes.Buffer
		ok, unwitnessed, err := demoExportOnce(ctx, &rows, ms, m, manifestPath, dir)
		if err != nil {
			return false, nil, err
		}
		if ok || time.Now().After(deadline) || ctx.Err() != nil {
			_, err := out.Write(rows.Bytes())
			return ok, unwitnessed, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// demoExportOnce writes every member's trees to dir once and reports, a
// row per tree, whether it verified and was witnessed. A member running a
// loop log writes it too, to dir/<member>/<member>-loop (demo_looplog.go).
func demoExportOnce(ctx context.Context, out io.Writer, ms []*demoMember, m *exchange.Manifest, manifestPath, dir string) (bool, []string, error) {
	ok := true
	var unwitnessed []string
	for _, mb := range ms {
		mdir := filepath.Join(dir, mb.spec.Region)
		if err := mb.n.ExportExchange(ctx, mdir); err != nil {
			return false, nil, fmt.Errorf("member %s: %w", mb.spec.Region, err)
		}
		for i := range m.Members {
			origin := &m.Members[i]
			tdir := filepath.Join(mdir, origin.Code)
			signed, err := os.ReadFile(filepath.Join(tdir, ledger.ExportCheckpointFile))
			if err != nil {
				return false, nil, err
			}
			cp, verr := ledger.Verify(ctx, ledger.DirSource(tdir), signed, origin.Origin(), origin.LogVerifier(), nil, nil)
			var ws []note.Verifier
			for _, o := range m.Others(origin.Code) {
				ws = append(ws, o.WitnessVerifier())
			}
			names, cerr := exchange.CountCosignatures(signed, origin.LogVerifier(), ws)
			status := "verified"
			if verr != nil {
				status, ok = "FAILED: "+verr.Error(), false
			}
			wit := fmt.Sprintf("witnessed by %s", strings.Join(names, ", "))
			if cerr != nil || len(names) < m.WitnessQuorum {
				wit, ok = fmt.Sprintf("NOT witnessed (%d of %d cosignatures)", len(names), m.WitnessQuorum), false
			}
			size := uint64(0)
			if cp != nil {
				size = cp.Size
			}
			fmt.Fprintf(out, "  %s/%s  size %d  %s  %s\n", mb.spec.Region, origin.Code, size, status, wit)
		}
		lok, lwit, err := demoExportLoop(ctx, out, mb, m, manifestPath, mdir)
		if err != nil {
			return false, nil, err
		}
		ok = ok && lok
		if !lwit {
			unwitnessed = append(unwitnessed, mb.spec.Region)
		}
	}
	return ok, unwitnessed, nil
}

// freeLoopback returns n distinct free loopback ports whose UDP port is free
// too (HTTP/3), holding each until all are chosen.
func freeLoopback(n int) ([]string, error) {
	var out []string
	var hold []io.Closer
	defer func() {
		for _, h := range hold {
			h.Close()
		}
	}()
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hold = append(hold, l)
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue
		}
		hold = append(hold, u)
		out = append(out, l.Addr().String())
	}
	if len(out) < n {
		return nil, errors.New("no free loopback ports")
	}
	return out, nil
}

// terminalOrNil returns w if it is a terminal (progress is for people
// watching, not for logs and pipes), else nil.
func terminalOrNil(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}
