package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// TestFaultInjection runs a reduced Delta topology in containers (2 members
// x 3 raft replicas + 1 single-replica city: 7 containers fit 2 cores; the
// generator makes the full 4 x 3 + 1 the same way) under continuous load
// from every member, and injects faults one after the other: SIGKILL of a
// leader, network partitions of a follower, of a leader and of the city,
// SIGKILL of every replica of a member at once, and a full disk under one
// replica (a 256 MiB tmpfs mounted over its data directory and filled
// until ENOSPC; skipped with the reason where mounting is not permitted).
// After each fault is healed
// it pauses the load and checks the invariants:
//
//   - no acknowledged record lost: every receipt's index and leaf hash is in
//     the origin's tree on every replica of every member (own ledger and
//     mirrors), authenticated tile by tile against each replica's signed checkpoint;
//   - mirrors converge: every copy of every ledger reaches the origin's size;
//   - every member's own ledger is witnessed by the manifest's quorum up to
//     its latest checkpoint;
//   - no witness signed two conflicting checkpoints: no alert anywhere, and
//     creditx audit --node (which checks every cosignature and the
//     consistency of every checkpoint seen) passes.
//
// The clock-skew fault is skipped with a log line (see below).
// Bounded: the whole test takes about 1.5-4 minutes here; it fails after 8.
func TestFaultInjection(t *testing.T) {
	requireDocker(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tp := startTopo(t, []string{"310000", "330000"}, "330100", 3)
	tp.register(ctx)
	t.Logf("topology up and agencies registered after %v", time.Since(start).Round(time.Second))

	var paused atomic.Bool
	var acked, failed atomic.Int64
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for code := range tp.members {
		wg.Add(1)
		go func() { defer wg.Done(); tp.load(lctx, code, &paused, &acked, &failed) }()
	}
	defer func() { stopLoad(); wg.Wait() }()
	time.Sleep(3 * time.Second)
	tp.converge(ctx, "baseline", &paused)

	faults := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"SIGKILL the leader of 330000, restart it after 4 s", func(ctx context.Context) error {
			l, err := tp.leader(ctx, "330000")
			if err != nil {
				return err
			}
			t.Logf("  leader is %s", l.ID)
			if _, err := run(t, 30*time.Second, "docker", "kill", "-s", "KILL", tp.container(l.ID)); err != nil {
				return err
			}
			time.Sleep(4 * time.Second)
			_, err = run(t, 30*time.Second, "docker", "start", tp.container(l.ID))
			return err
		}},
		{"partition a follower of 310000 for 5 s", func(ctx context.Context) error {
			l, err := tp.leader(ctx, "310000")
			if err != nil {
				return err
			}
			f := tp.members["310000"].Replicas[0]
			if f.ID == l.ID {
				f = tp.members["310000"].Replicas[1]
			}
			return tp.partition(f.ID, 5*time.Second)
		}},
		{"partition the leader of 310000 for 6 s", func(ctx context.Context) error {
			l, err := tp.leader(ctx, "310000")
			if err != nil {
				return err
			}
			t.Logf("  leader is %s", l.ID)
			return tp.partition(l.ID, 6*time.Second)
		}},
		{"partition the city 330100 for 5 s (witness quorum unreachable meanwhile)", func(ctx context.Context) error {
			return tp.partition(tp.members["330100"].Replicas[0].ID, 5*time.Second)
		}},
		{"SIGKILL every replica of 310000 at once, restart after 3 s", func(ctx context.Context) error {
			var names []string
			for _, r := range tp.members["310000"].Replicas {
				names = append(names, tp.container(r.ID))
			}
			if _, err := run(t, 30*time.Second, "docker", append([]string{"kill", "-s", "KILL"}, names...)...); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
			_, err := run(t, 30*time.Second, "docker", append([]string{"start"}, names...)...)
			return err
		}},
		{"fill the disk of a follower (tmpfs) for 8 s, then free it", func(ctx context.Context) error {
			if tp.disk == "" {
				t.Logf("  skipped: %s", tp.diskWhy)
				return nil
			}
			code := tp.lay.Members[0].Code
			if l, err := tp.leader(ctx, code); err == nil && l.ID == tp.disk {
				t.Logf("  %s is the leader: its writes fail, and another replica must take over", l.ID)
			}
			before := tp.acked(code)
			filler, n, err := tp.fillDisk()
			if err != nil {
				return err
			}
			t.Logf("  %s: wrote %d MiB of filler until ENOSPC", tp.disk, n>>20)
			time.Sleep(8 * time.Second)
			during := tp.acked(code) - before
			if err := os.Remove(filler); err != nil {
				return err
			}
			state, _ := run(t, 30*time.Second, "docker", "inspect", "-f", "{{.State.Status}} exit={{.State.ExitCode}}", tp.container(tp.disk))
			t.Logf("  %s after 8 s on a full disk: %s; %s acknowledged %d records meanwhile", tp.disk, strings.TrimSpace(state), code, during)
			if during == 0 {
				return fmt.Errorf("member %s acknowledged nothing while one replica's disk was full (2 of 3 replicas were fine)", code)
			}
			_, err = run(t, 30*time.Second, "docker", "start", tp.container(tp.disk)) // no-op if it kept running
			return err
		}},
	}
	for _, f := range faults {
		before := acked.Load()
		fs := time.Now()
		if err := f.do(ctx); err != nil {
			t.Fatalf("fault %q: %v", f.name, err)
		}
		time.Sleep(2 * time.Second) // load continues on the healed topology
		tp.converge(ctx, f.name, &paused)
		t.Logf("fault %q: healed and converged in %v; %d records acknowledged meanwhile", f.name, time.Since(fs).Round(100*time.Millisecond), acked.Load()-before)
	}
	t.Log("clock-skew fault skipped: containers share the host kernel's clock (setting it needs CAP_SYS_TIME and moves every container's clock at once), and libfaketime cannot skew a static Go binary, which reads the clock through the vDSO, not libc")
	stopLoad()
	wg.Wait()
	tp.converge(ctx, "final", &paused)
	tp.audit(ctx)
	if acked.Load() == 0 {
		t.Fatal("no record was acknowledged during the suite: the load did not run")
	}
	t.Logf("suite done in %v: %d records acknowledged, %d submissions failed during faults (retried with new records)",
		time.Since(start).Round(time.Second), acked.Load(), failed.Load())
}

// partition disconnects a replica's container from the bridge network for d.
func (tp *topo) partition(replica string, d time.Duration) error {
	if _, err := run(tp.t, 30*time.Second, "docker", "network", "disconnect", tp.network, tp.container(replica)); err != nil {
		return err
	}
	time.Sleep(d)
	_, err := run(tp.t, 30*time.Second, "docker", "network", "connect", "--alias", tp.aliasOf(replica), "--alias", replica, tp.network, tp.container(replica))
	return err
}

// aliasOf is the member alias of a replica.
func (tp *topo) aliasOf(replica string) string {
	for _, m := range tp.lay.Members {
		for _, r := range m.Replicas {
			if r.ID == replica {
				return m.Alias
			}
		}
	}
	return replica
}

// load submits one signed listing at a time to a random replica of code
// (followers forward to the leader) and keeps every receipt.
func (tp *topo) load(ctx context.Context, code string, paused *atomic.Bool, acked, failed *atomic.Int64) {
	p := tp.creds[code]["publisher"]
	m := tp.members[code]
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		if paused.Load() {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		l, err := synth.Listing(seq, synth.Options{Region: code, Authority: schemas.Agency{Name: p.Identity.Name, USCC: p.Identity.ID},
			MatchKey: *p.MatchKey, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			tp.t.Error(err)
			return
		}
		e, err := p.Sign(l)
		if err != nil {
			tp.t.Error(err)
			return
		}
		r := m.Replicas[rand.IntN(len(m.Replicas))]
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		rs, err := p.Submit(sctx, r.HostURL, e)
		cancel()
		if err != nil {
			failed.Add(1)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		tp.pubMu.Lock()
		tp.received[code] = append(tp.received[code], rs...)
		tp.pubMu.Unlock()
		acked.Add(int64(len(rs)))
		time.Sleep(30 * time.Millisecond)
	}
}

// converge pauses the load and waits (at most 90 s) until every invariant
// holds on every replica; it fails the test naming the last violation.
func (tp *topo) converge(ctx context.Context, phase string, paused *atomic.Bool) {
	tp.t.Helper()
	paused.Store(true)
	defer paused.Store(false)
	time.Sleep(500 * time.Millisecond) // let in-flight submissions finish
	var last error
	if !waitFor(90*time.Second, func() bool { last = tp.check(ctx); return last == nil }) {
		tp.t.Fatalf("after %q: invariants do not hold within 90 s: %v", phase, last)
	}
}

// check verifies the invariants once.
func (tp *topo) check(ctx context.Context) error {
	tp.pubMu.Lock()
	rcv := map[string][]node.Receipt{}
	for k, v := range tp.received {
		rcv[k] = append([]node.Receipt(nil), v...)
	}
	tp.pubMu.Unlock()
	// published: the size of the checkpoint each origin's leader serves
	// (its latest witnessed one); every copy must converge to it.
	// size: its own ledger's size. A mirror may run ahead of the published
	// checkpoint (it also learns checkpoints its witness cosigned) but never
	// past size; with requireWitnessed both are equal.
	published, size := map[string]uint64{}, map[string]uint64{}
	for _, m := range tp.lay.Members {
		l, err := tp.leader(ctx, m.Code)
		if err != nil {
			return err
		}
		if published[m.Code], err = tp.holds(ctx, m.Code, l, m.Code, rcv[m.Code]); err != nil {
			return err
		}
		st, err := tp.status(ctx, m.Code, l)
		if err != nil {
			return err
		}
		size[m.Code] = st.Size
	}
	for _, holder := range tp.lay.Members {
		for _, r := range holder.Replicas {
			for _, origin := range tp.lay.Members {
				got, err := tp.holds(ctx, holder.Code, r, origin.Code, rcv[origin.Code])
				if err != nil {
					return err
				}
				if holder.Code == origin.Code && got != published[origin.Code] {
					return fmt.Errorf("%s serves its own ledger at %d entries, its leader at %d (not converged)", r.ID, got, published[origin.Code])
				}
				if holder.Code != origin.Code && (got < published[origin.Code] || got > size[origin.Code]) {
					return fmt.Errorf("%s's copy of %s has %d entries, the origin published %d of %d (not converged)", r.ID, origin.Code, got, published[origin.Code], size[origin.Code])
				}
			}
		}
		var alerts []node.AlertView
		if err := tp.creds[holder.Code]["auditor"].Get(ctx, holder.Replicas[0].HostURL+"/v1/alerts", &alerts); err != nil {
			return err
		}
		if len(alerts) > 0 {
			return fmt.Errorf("member %s raised %d alert(s), first: %s %s: %s", holder.Code, len(alerts), alerts[0].Kind, alerts[0].Origin, alerts[0].Reason)
		}
		var xs node.ExchangeStatus
		if err := tp.creds[holder.Code]["auditor"].Get(ctx, holder.Replicas[0].HostURL+"/v1/exchange", &xs); err != nil {
			return err
		}
		if xs.Witnessed != xs.Size {
			return fmt.Errorf("member %s: own ledger size %d, witnessed by a quorum only up to %d", holder.Code, xs.Size, xs.Witnessed)
		}
	}
	return nil
}

// audit runs creditx audit --node against one replica of every member, each
// with that member's auditor credential: entry bundles of non-public records
// are served only to a consortium certificate of the node's own region
// (docs/PRIVACY.md). Every replica holds every member's ledger (own or
// mirrored), so each run verifies all of them and their cosignatures.
func (tp *topo) audit(ctx context.Context) {
	tp.t.Helper()
	for _, m := range tp.lay.Members {
		args := []string{"audit", "--quiet", "--cacert", tp.lay.CAs, "--manifest", tp.lay.Manifest,
			"--creds", filepath.Join(m.Agencies, "auditor"), "--node", m.Replicas[len(m.Replicas)-1].HostURL}
		out, err := run(tp.t, 2*time.Minute, tp.bin, args...)
		if err != nil {
			tp.t.Fatalf("creditx audit --node (member %s) failed: %v\n%s", m.Code, err, out)
		}
		tp.t.Logf("creditx audit --node (member %s): %s", m.Code, firstLine(out))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// acked is how many records member code has acknowledged so far.
func (tp *topo) acked(code string) int {
	tp.pubMu.Lock()
	defer tp.pubMu.Unlock()
	return len(tp.received[code])
}
