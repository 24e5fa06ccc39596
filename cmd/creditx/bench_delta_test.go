package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/exchange"
)

// TestSNMPUDPOut reads OutDatagrams from the Udp lines of /proc/net/snmp
// and answers -1 for anything else.
func TestSNMPUDPOut(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 7565994 223420 1742 7693794 1742\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams\nUdpLite: 0 0 0 5\n"
	for _, c := range []struct {
		in   string
		want int64
	}{
		{snmp, 7693794},
		{"", -1},
		{"Udp: InDatagrams OutDatagrams\n", -1},
		{"Udp: InDatagrams OutDatagrams\nUdp: 1 x\n", -1},
		{"Udp: InDatagrams\nUdp: 1\n", -1},
	} {
		if got := snmpUDPOut([]byte(c.in)); got != c.want {
			t.Errorf("snmpUDPOut(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestDeltaReportRedials: the report names the connections redialled in the
// idle window and in the whole run (each a new QUIC connection and TLS
// handshake; issue 20's loop long-poll bug showed as thousands of them).
func TestDeltaReportRedials(t *testing.T) {
	r := deltaReport{N: 3, Converged: true, Redials: 5135, IdleRedials: 7}
	if s := r.String(); !strings.Contains(s, "7 connections redialled (5135 in the whole run)") {
		t.Errorf("report without the redials:\n%s", s)
	}
}

// TestDeltaReportPhases: the report times each part of convergence
// (following by every member apart, as it is not waited for) and gives the
// work per member during convergence, the counts that show what grows
// faster than N (issue 20), and the garbage collections and bytes
// allocated during it.
func TestDeltaReportPhases(t *testing.T) {
	r := deltaReport{N: 2, Converged: true, Phases: &demoPhases{
		Published: 2 * time.Second, Ledgers: 3 * time.Second, Loops: 4 * time.Second, Custody: 5 * time.Second,
		CPU0: 1, CPU1: 11.5, GC0: 3, GC1: 10, Alloc0: 1e6, Alloc1: 251e6,
		Work0:   exchange.Work{Follows: 10, Requests: 100},
		Work1:   exchange.Work{Follows: 30, Requests: 500, FollowCommands: 4, Checks: 6, SigLines: 40, SigRemembered: 100},
		Submits: []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond},
	}}
	s := r.String()
	for _, want := range []string{
		"published 2.0 s, ledgers mirrored and witnessed 3.0 s, loop logs witnessed 4.0 s, custodians' copies 5.0 s, loop logs followed by all not seen; 10.5 CPU-s, 7 GC cycles, 250 MB allocated",
		"(2 follow batches), 10 loop checkpoints followed", "200 HTTP/3 requests", "3 checkpoint signature checks (20 signature lines checked, 50 accepted from the keys' memory)", "listing submits: 3, p50 2 ms, max 3 ms",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report without %q:\n%s", want, s)
		}
	}
}

// TestConvergedWithoutFollowing: convergence waits for the ledgers, the
// loop logs witnessed and the custodians' copies, not for every member to
// follow every loop log (a non-custodian follows at most every 10 s).
func TestConvergedWithoutFollowing(t *testing.T) {
	all := demoParts{Ledgers: true, Loops: true, Custody: true}
	if !all.converged() {
		t.Error("not converged with ledgers, loop logs and custodians' copies done")
	}
	for _, d := range []demoParts{{Loops: true, Custody: true, Followed: true}, {Ledgers: true, Custody: true, Followed: true}, {Ledgers: true, Loops: true, Followed: true}} {
		if d.converged() {
			t.Errorf("%+v counted as converged", d)
		}
	}
}

// TestWriteAllocs: --converge-memprofile's snapshots are allocs profiles
// that go tool pprof reads (gzipped protocol buffers), and an unwritable
// path is an error.
func TestWriteAllocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conv.mem")
	if err := writeAllocs(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("allocs profile is not gzipped (%d bytes)", len(b))
	}
	if err := writeAllocs(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("no error for an unwritable path")
	}
}
