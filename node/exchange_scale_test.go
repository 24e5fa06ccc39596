package node_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/provision"
)

// udpSockets counts this process's UDP sockets (Linux /proc), or -1.
func udpSockets(t *testing.T) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 9 {
				inodes[fs[9]] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if inode, ok := strings.CutPrefix(l, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

// TestExchangeCostPerMember pins what issue 20 made linear in the members:
// one UDP socket per member (not one per peer), each checkpoint pushed to
// the quorum plus spares (here none: 2 of 3 witnesses), an unchanged
// checkpoint not verified again by status reads, and no checkpoint
// polling while nothing changes (long-poll).
func TestExchangeCostPerMember(t *testing.T) {
	before := udpSockets(t)
	dir := t.TempDir()
	specs := append([]provision.MemberSpec(nil), deltaMembers...)
	addrs := freeAddrs(t, 2*len(specs))
	for i := range specs {
		specs[i].API, specs[i].Raft = addrs[2*i], addrs[2*i+1]
	}
	cfgs, m, err := provision.PrepareConsortium(dir, specs)
	if err != nil {
		t.Fatal(err)
	}
	ms := map[string]*member{}
	for _, cfg := range cfgs {
		c := *cfg
		c.Exchange.PullInterval = 300 * time.Millisecond
		c.Exchange.PushInterval = 50 * time.Millisecond
		c.Exchange.WitnessSpares = -1 // quorum only
		mb := &member{code: c.Region, cfg: c, creds: map[string]*client.Credentials{}}
		cr, err := client.LoadCredentials(filepath.Join(c.DataDir, "agencies", "publisher"))
		if err != nil {
			t.Fatal(err)
		}
		if cr.MatchKey, err = provision.DevMatchKey(filepath.Join(c.DataDir, "agencies")); err != nil {
			t.Fatal(err)
		}
		mb.creds["publisher"] = cr
		mb.start(t)
		ms[c.Region] = mb
	}
	for _, mb := range ms {
		if err := mb.n.SeedDev(context.Background(), filepath.Join(mb.cfg.DataDir, "agencies")); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(i uint64) {
		for _, mb := range ms {
			e, _ := mb.listing(t, i)
			var err error
			eventually(t, 10*time.Second, "agency keys registered", func() bool {
				_, err = mb.creds["publisher"].Submit(context.Background(), mb.n.URL(), e)
				return err == nil
			})
		}
	}
	submit(1)
	stable := func() bool {
		if !converged(t, ms) {
			return false
		}
		for _, mb := range ms {
			for _, mr := range mb.status(t).Mirrors {
				if !mr.Witnessed {
					return false
				}
			}
		}
		return true
	}
	// Converged, and stays so: the notices every listing causes come after it
	// is indexed, so wait until the sizes stop moving for 2 s.
	sizes := func() (sum uint64) {
		for _, mb := range ms {
			sum += mb.status(t).Size
		}
		return sum
	}
	settle := func() {
		for last, deadline := uint64(0), time.Now().Add(90*time.Second); ; {
			eventually(t, 60*time.Second, "every ledger witnessed and mirrored", stable)
			s := sizes()
			if s == last {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the ledgers keep growing")
			}
			last = s
			time.Sleep(2 * time.Second)
		}
	}
	settle()
	if before >= 0 {
		if got := udpSockets(t) - before; got > len(ms) {
			t.Errorf("%d members opened %d UDP sockets, want at most one each", len(ms), got)
		}
	}
	// Fan-out: quorum 2, no spares: each new checkpoint is pushed to the
	// first 2 of the 3 other members in rendezvous order (all healthy, so
	// no second round). At start-up a push may have met a member not yet up,
	// so compare what the witnesses cosigned before and after a new listing.
	if m.WitnessQuorum != 2 {
		t.Fatalf("quorum %d", m.WitnessQuorum)
	}
	cosigned := func() map[[2]string]uint64 {
		out := map[[2]string]uint64{}
		for _, w := range ms {
			for _, mr := range w.status(t).Mirrors {
				out[[2]string{w.code, mr.Code}] = mr.Cosigned
			}
		}
		return out
	}
	c0 := cosigned()
	submit(2)
	settle()
	c1 := cosigned()
	for _, origin := range ms {
		var moved []string
		for _, w := range ms {
			if k := [2]string{w.code, origin.code}; w != origin && c1[k] > c0[k] {
				moved = append(moved, w.code)
			}
		}
		want := exchange.WitnessOrder(exchangeOrigin(origin.code), others(ms, origin.code))[:2]
		if !sameSet(moved, want) {
			t.Errorf("%s's new checkpoints were cosigned by %v, want the first two in rendezvous order %v", origin.code, moved, want)
		}
	}
	// Status reads verify a stored checkpoint once.
	for _, mb := range ms {
		mb.n.ExchangeStatus()
		c0 := mb.n.CheckpointChecksForTest()
		for i := 0; i < 5; i++ {
			mb.n.ExchangeStatus()
		}
		if c1 := mb.n.CheckpointChecksForTest(); c1 != c0 {
			t.Errorf("%s: 5 status reads of unchanged mirrors made %d signature checks", mb.code, c1-c0)
		}
	}
	// Idle: no checkpoint polling. Old code fetched every peer's checkpoint
	// (>= 150 bytes) every PullInterval (300 ms); allow less than one per
	// pair in the whole window.
	fetched := func() (sum uint64) {
		for _, mb := range ms {
			for _, mr := range mb.status(t).Mirrors {
				sum += mr.FetchedBytes
			}
		}
		return sum
	}
	b0 := fetched()
	time.Sleep(3 * time.Second)
	pairs := uint64(len(ms) * (len(ms) - 1))
	if d := fetched() - b0; d >= pairs*150 {
		t.Errorf("idle members fetched %d bytes in 3 s (%d pairs): still polling", d, pairs)
	}
}

func exchangeOrigin(code string) string { return "creditx." + code + "/ledger" }

func others(ms map[string]*member, code string) []string {
	var out []string
	for c := range ms {
		if c != code {
			out = append(out, c)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	for _, s := range b {
		if !in[s] {
			return false
		}
	}
	return true
}
