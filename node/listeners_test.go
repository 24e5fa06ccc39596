package node_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
	"github.com/creditx/creditx/provision"
)

// bindable reports whether the TCP and UDP ports of addr can be bound now.
func bindable(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// TestGivenListeners: sockets from nodetest.HoldListeners cannot be taken
// by anyone else while held (FreeAddrs released them before the node bound
// them: a bind collision under parallel tests); a node given them in
// Config.Listeners serves on them; New closes them when it fails.
func TestGivenListeners(t *testing.T) {
	held := nodetest.HoldListeners(t, 2)
	for _, l := range held {
		for _, addr := range []string{l.API.Addr().String(), l.Raft.Addr().String()} {
			if bindable(addr) {
				t.Fatalf("%s could be bound by someone else while held", addr)
			}
		}
	}
	l := held[0]
	api, raft := l.API.Addr().String(), l.Raft.Addr().String()
	cfgs, err := provision.PrepareRegion(t.TempDir(), "330000", []provision.ReplicaSpec{{ID: "t-1", API: api, Raft: raft}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cfgs[0]
	cfg.Listeners = l
	n, stop := nodetest.Start(t, cfg)
	if n.Addr() != api || n.RaftAddr() != raft {
		t.Fatalf("node on %s (raft %s), want the given %s (raft %s)", n.Addr(), n.RaftAddr(), api, raft)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if !bindable(api) || !bindable(raft) {
		t.Fatalf("the stopped node did not close its given sockets %s, %s", api, raft)
	}

	// A New that fails closes what it was given.
	bad := cfg
	bad.Listeners = held[1]
	bad.MatchKey = "/nonexistent/match.key"
	if _, err := node.New(bad); err == nil {
		t.Fatal("New with a missing match key succeeded")
	}
	for _, addr := range []string{held[1].API.Addr().String(), held[1].Raft.Addr().String()} {
		if !bindable(addr) {
			t.Fatalf("%s still bound after New failed", addr)
		}
	}
}
