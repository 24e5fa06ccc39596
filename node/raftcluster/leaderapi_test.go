package raftcluster

import "testing"

// TestLeaderAPIBase: the leader's API comes from peers when it is listed
// there; a replica that joined later (not in peers) is reached on its raft
// host at this replica's API port; nothing is guessed without a leader or
// from an unusable address.
func TestLeaderAPIBase(t *testing.T) {
	peers := []Peer{{ID: "zj-1", API: "https://zj1.example:8443/"}, {ID: "zj-2", API: "https://zj2.example:8443"}}
	for _, tc := range []struct {
		name, addr, id, own, want string
	}{
		{"listed", "10.0.0.1:9443", "zj-1", "0.0.0.0:8443", "https://zj1.example:8443"},
		{"listed wins over the raft host", "10.0.0.2:9443", "zj-2", "0.0.0.0:7000", "https://zj2.example:8443"},
		{"joined later: raft host, own API port", "zj-4:9443", "zj-4", "0.0.0.0:8443", "https://zj-4:8443"},
		{"joined later, IPv6", "[fd00::4]:9443", "zj-4", "[::]:8443", "https://[fd00::4]:8443"},
		{"no leader", "", "", "0.0.0.0:8443", ""},
		{"unusable raft address", "zj-4", "zj-4", "0.0.0.0:8443", ""},
		{"own port unknown", "zj-4:9443", "zj-4", "0.0.0.0:0", ""},
		{"replicas sharing a host: the guess would be this replica", "127.0.0.1:9446", "zj-4", "127.0.0.1:8443", ""},
	} {
		if got := LeaderAPIBase(peers, tc.addr, tc.id, tc.own); got != tc.want {
			t.Errorf("%s: LeaderAPIBase(%q, %q, %q) = %q, want %q", tc.name, tc.addr, tc.id, tc.own, got, tc.want)
		}
	}
}
