// Package nodetest runs real region nodes for tests in other packages: the
// node's own bbolt files, raft and HTTPS listeners (configure ports :0),
// nothing mocked.
package nodetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
)

// Start runs a node with cfg and returns it once it is ready (a single
// replica: once it leads), with a function that stops it and waits until its
// files are closed (for a restart on the same data directory). It stops at
// the end of the test in any case; a Run error other than that cancellation
// fails the test.
func Start(t testing.TB, cfg node.Config) (*node.Node, func()) {
	t.Helper()
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	if err := n.WaitReady(rctx); err != nil {
		t.Fatal(err)
	}
	return n, stop
}

// StartDev prepares a single-replica region (provision.PrepareRegion, replica
// "t-1", ports :0) in a fresh temporary directory and starts it; agencies'
// credentials are under DIR/agencies.
func StartDev(t testing.TB, region string) (*node.Node, string) {
	t.Helper()
	dir := t.TempDir()
	cfgs, err := provision.PrepareRegion(dir, region, []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := Start(t, *cfgs[0])
	return n, dir
}

// FreeAddrs returns n distinct free loopback ports (TCP, with the UDP port
// of the same number free too, for HTTP/3), holding each until all are
// chosen so that none is handed out twice.
//
// The ports are drawn at random below the kernel's ephemeral range
// (32768-60999 by default on Linux), not from ":0": between FreeAddrs
// releasing a port and the node binding it, an ephemeral port can be handed
// to any process on the machine (an outgoing connection, another test's ":0"
// listener), which made restarts and consortium tests fail with "address
// already in use" when several test binaries ran at once. A port below the
// range is only ever taken by someone who asks for it by number.
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	const lo, hi = 10000, 32768
	var out []string
	var hold []interface{ Close() error }
	defer func() {
		for _, h := range hold {
			h.Close()
		}
	}()
	for tries := 0; len(out) < n && tries < 50*n; tries++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		hold = append(hold, l)
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		hold = append(hold, u)
		out = append(out, addr)
	}
	if len(out) < n {
		t.Fatal("no free ports")
	}
	return out
}

// HoldListeners returns n sets of loopback sockets for replicas, bound and
// held: an API listener on TCP with the UDP port of the same number bound
// too (HTTP/3), and a raft listener. Give each to a node in
// node.Config.Listeners, with its addresses in the config and manifest:
// unlike FreeAddrs, nothing is released between choosing a port and the
// node serving on it, so no other process can take it meanwhile. The node
// owns the sockets it is given; the test's cleanup closes any it never
// gave.
//
// The ports are drawn below the ephemeral range, as FreeAddrs does, so a
// test that stops a node and starts it again on the same addresses (which
// binds them by number) is as safe as before.
func HoldListeners(t testing.TB, n int) []node.Listeners {
	t.Helper()
	var out []node.Listeners
	t.Cleanup(func() {
		for _, l := range out {
			l.API.Close()
			l.HTTP3.Close()
			l.Raft.Close()
		}
	})
	port := func() string {
		const lo, hi = 10000, 32768
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
	}
	for tries := 0; len(out) < n; tries++ {
		if tries == 100*n {
			t.Fatalf("no free ports: %d of %d sets bound", len(out), n)
		}
		var l node.Listeners
		var err error
		if l.API, err = net.Listen("tcp", port()); err != nil {
			continue
		}
		if l.HTTP3, err = net.ListenPacket("udp", l.API.Addr().String()); err != nil {
			l.API.Close()
			continue
		}
		if l.Raft, err = net.Listen("tcp", port()); err != nil {
			l.API.Close()
			l.HTTP3.Close()
			continue
		}
		out = append(out, l)
	}
	return out
}
