package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
)

// What the demo and bench delta wait for, and when each part of it held
// (issue 20).

// demoConverged: every own ledger witnessed at its full size, every mirror
// at that size with a witnessed checkpoint, no alerts; every own loop log
// witnessed at its size and copied by its custodians. That is every
// listing indexed at every member, and every notice issued, witnessed and
// held by the origin and its custodians (issue 20). It does not wait for
// every member to follow every loop log at its latest size: a member that
// is not a custodian follows a loop log at most every 10 s
// (exchange.followGapFar), to detect forks; demoSettled waits for that too.
func demoConverged(ms []*demoMember) (bool, error) {
	d, _, err := demoConvergedParts(ms)
	return d.converged(), err
}

// demoSettled is demoConverged and every loop log followed at its size by
// every member (a witnessed checkpoint).
func demoSettled(ms []*demoMember) (bool, error) {
	d, _, err := demoConvergedParts(ms)
	return d.converged() && d.Followed, err
}

// demoParts says which parts of convergence hold (demoConvergedParts).
type demoParts struct {
	Ledgers  bool // every own ledger witnessed at its size, mirrored at it (witnessed) by every other member, no alerts
	Loops    bool // every own loop log witnessed at its size
	Custody  bool // every custodian's copy of a loop log at its size
	Followed bool // every member follows every loop log at its size, witnessed
}

// converged: what demoConverged waits for.
func (d demoParts) converged() bool { return d.Ledgers && d.Loops && d.Custody }

// demoPhases records when each part of convergence was first seen to
// hold, from the first listing submitted (bench delta's report).
type demoPhases struct {
	Published time.Duration // the last listing (and rules record) submitted
	// Listings: the last listing answered; Rules: the rules records
	// (demo_loop.go) answered, beside the listings when they are published
	// at once, after them one by one. 0: not recorded. Guarded by mu while
	// publishing.
	Listings, Rules                   time.Duration
	Ledgers, Loops, Custody, Followed time.Duration // 0: not seen
	// Work, CPU (process CPU-seconds), garbage collections and bytes
	// allocated (runtime.MemStats NumGC, TotalAlloc) when the first
	// listing was submitted and when convergence was reached or timed out.
	Work0, Work1   exchange.Work
	CPU0, CPU1     float64
	GC0, GC1       uint32
	Alloc0, Alloc1 uint64
	start          time.Time // the first listing submitted
	mu             sync.Mutex
	Submits        []time.Duration // each submit of the listings, retries included; guarded by mu
	// Retries counts the listing submits' failed attempts that were
	// retried, by cause (retryCause); Conns is the setup time (dial and
	// TLS handshake) of each new connection they opened. Guarded by mu.
	Retries map[string]int
	Conns   []time.Duration
	// profile, if set, is a file for a CPU profile of the convergence
	// alone (mark starts it at the first listing and stops it at the end);
	// stopProfile stops it. Set before the run, used by mark only.
	profile     string
	stopProfile func()
	profileErr  error // starting the profile failed (reported by bench delta)
	// memProfile, if set, is a file for the allocations of the
	// convergence alone: mark writes the allocs profile to memProfile+".base"
	// at the first listing and to memProfile at the end (writeAllocs). Set
	// before the run, used by mark only; its error goes to profileErr.
	memProfile string
}

// submitted records one submit's time; p may be nil.
func (p *demoPhases) submitted(d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Submits = append(p.Submits, d)
	p.mu.Unlock()
}

// listed records that a listing batch was answered now; p may be nil.
func (p *demoPhases) listed() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Listings = max(p.Listings, time.Since(p.start))
	p.mu.Unlock()
}

// rulesDone records that the rules records were answered now (or failed);
// p may be nil.
func (p *demoPhases) rulesDone() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Rules = time.Since(p.start)
	p.mu.Unlock()
}

// retried records a failed submit attempt that is retried; p may be nil.
func (p *demoPhases) retried(err error) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Retries == nil {
		p.Retries = map[string]int{}
	}
	p.Retries[retryCause(err)]++
}

// retryCause names why a submit attempt failed: the node's status and the
// start of its error text, or the transport's error, without the details
// that differ from one attempt to the next (addresses, ports).
func retryCause(err error) string {
	var se *client.SubmitError
	if errors.As(err, &se) {
		msg, _, _ := strings.Cut(se.Body.Error, "\n")
		return fmt.Sprintf("%d %.80s", se.Status, msg)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 { // net/http: "Post \"https://...\": <cause>"
		msg = msg[i+2:]
	}
	return fmt.Sprintf("no answer: %.80s", msg)
}

// trace returns ctx with a client trace that records in p the setup time
// of every new connection (dial and TLS handshake) a submit opens; ctx
// itself if p is nil.
func (p *demoPhases) trace(ctx context.Context) context.Context {
	if p == nil {
		return ctx
	}
	var start time.Time
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { start = time.Now() },
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				return
			}
			p.mu.Lock()
			p.Conns = append(p.Conns, time.Since(start))
			p.mu.Unlock()
		},
	})
}

// noteNow is note at the time since the first listing.
func (p *demoPhases) noteNow(d demoParts) { p.note(d, time.Since(p.start)) }

// mark records the members' work and the process's CPU time at the start
// (start) or the end of convergence; p may be nil.
func (p *demoPhases) mark(ms []*demoMember, start bool) {
	if p == nil {
		return
	}
	var w exchange.Work
	for _, m := range ms {
		w.Add(m.n.ExchangeWork())
	}
	if start {
		if p.memProfile != "" && p.profileErr == nil {
			p.profileErr = writeAllocs(p.memProfile + ".base")
		}
		if p.profile != "" {
			p.stopProfile, p.profileErr = startCPUProfile(p.profile) // bench.go
		}
		p.Work0, p.CPU0 = w, cpuSeconds() // bench_delta.go
		p.GC0, p.Alloc0 = gcStats()
	} else {
		p.Work1, p.CPU1 = w, cpuSeconds()
		p.GC1, p.Alloc1 = gcStats()
		if p.stopProfile != nil {
			p.stopProfile()
			p.stopProfile = nil
		}
		if p.memProfile != "" && p.profileErr == nil {
			p.profileErr = writeAllocs(p.memProfile)
		}
	}
}

// gcStats is the garbage collections completed and the bytes allocated on
// the heap so far by this process (runtime.MemStats NumGC and TotalAlloc;
// reading them stops the world for a moment).
func gcStats() (gcs uint32, alloc uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC, m.TotalAlloc
}

// writeAllocs writes the allocs profile of this process (every allocation
// sampled since the start, runtime.MemProfileRate) to path. It runs a
// garbage collection first: the profile shows the allocations as of the
// last one, and this makes it the allocations up to now.
func writeAllocs(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// note records the parts that hold at t and had not held before; p may be nil.
func (p *demoPhases) note(d demoParts, t time.Duration) {
	if p == nil {
		return
	}
	for _, f := range []struct {
		ok bool
		at *time.Duration
	}{{d.Ledgers, &p.Ledgers}, {d.Loops, &p.Loops}, {d.Custody, &p.Custody}, {d.Followed, &p.Followed}} {
		if f.ok && *f.at == 0 {
			*f.at = t
		}
	}
}

// demoConvergedParts says which parts of convergence hold, and the sum of
// every own ledger's and loop log's size. It reads every member's own
// state first, and the N(N-1) mirrors' only when every own ledger and loop
// log is witnessed at its size (before that, the mirror parts are taken
// as not holding): a full read of 45 members costs ~2,000 mirror reads,
// and the harness polls every 200 ms in the members' process.
func demoConvergedParts(ms []*demoMember) (demoParts, uint64, error) {
	var sum uint64
	d := demoParts{Ledgers: true, Loops: true}
	for _, m := range ms {
		st, err := m.n.ExchangeOwnStatus()
		if err != nil {
			return demoParts{}, 0, err
		}
		d.Ledgers = d.Ledgers && st.Witnessed == st.Size && st.Alerts == 0
		d.Loops = d.Loops && (st.Loop == nil || st.Loop.Witnessed == st.Loop.Size)
	}
	if !d.Ledgers || !d.Loops {
		d.Ledgers = false
		return d, 0, nil
	}
	sizes, loops := map[string]uint64{}, map[string]uint64{}
	sts := make([]*exchange.Status, len(ms)) // one status read per member and call
	d = demoParts{Ledgers: true, Loops: true, Custody: true, Followed: true}
	for i, m := range ms {
		st, err := m.n.ExchangeStatus()
		if err != nil {
			return demoParts{}, 0, err
		}
		sts[i] = st
		if st.Witnessed != st.Size || st.Alerts > 0 {
			d.Ledgers = false
		}
		sizes[m.spec.Region] = st.Size
		sum += st.Size
		if st.Loop != nil { // a witnessed loop log (sanctions.loop_log, issue 20)
			if st.Loop.Witnessed != st.Loop.Size {
				d.Loops = false
			}
			loops[m.spec.Region] = st.Loop.Size
			sum += st.Loop.Size
		}
	}
	for _, st := range sts {
		for _, mr := range st.Mirrors {
			if mr.Size != sizes[mr.Code] || mr.Checkpoint != mr.Size || !mr.Witnessed || mr.Stopped {
				d.Ledgers = false
			}
			// Every witnessed loop log followed at its size, and copied
			// by its custodians (by every member that follows loop logs:
			// those with their own loop log on).
			if size, ok := loops[mr.Code]; ok && size > 0 && mr.Loop != nil {
				l := mr.Loop
				if l.Followed != size || !l.Witnessed {
					d.Followed = false
				}
				if l.Custodian && l.Entries != size {
					d.Custody = false
				}
			}
		}
	}
	return d, sum, nil
}

// mirrorCell is one mirror in the summary's MIRRORS column: code:size,
// "w" if its checkpoint is witnessed, its state unless it is mirroring,
// and the consistency proofs its node served with loop long-poll answers
// that did not verify, if any (exchange.LoopStatus.ProofsRefused).
func mirrorCell(mr exchange.MirrorStatus) string {
	s := fmt.Sprintf("%s:%d", mr.Code, mr.Size)
	if mr.Witnessed {
		s += "w"
	}
	switch mr.State {
	case exchange.MirrorStopped:
		s += "(STOPPED)"
	case exchange.MirrorNoCheckpoint:
		s += "(" + exchange.MirrorNoCheckpoint + ")"
	}
	if mr.Loop != nil && mr.Loop.ProofsRefused > 0 {
		s += fmt.Sprintf("(%d loop proofs refused)", mr.Loop.ProofsRefused)
	}
	return s
}
