package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterCLI runs creditx cluster list, add and remove against a
// single-replica node in this process: the table names the replica, its
// suffrage and leadership; refusals come back with the node's reason.
func TestClusterCLI(t *testing.T) {
	n, dir := startNode(t)
	creds := func(name string) string { return filepath.Join(dir, "agencies", name) }

	out, err := run(t, "cluster", "list", "--node", n.URL(), "--creds", creds("auditor"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "t-1") || !strings.Contains(out, "voter") || !strings.Contains(out, "leader") || !strings.Contains(out, n.RaftAddr()) {
		t.Errorf("cluster list printed\n%s\nwant t-1 as voter and leader at %s", out, n.RaftAddr())
	}
	out, err = run(t, "cluster", "add", "--node", n.URL(), "--creds", creds("admin"), "t-1", n.RaftAddr())
	if err != nil || !strings.Contains(out, "nothing changed") {
		t.Errorf("re-adding t-1: %q, %v; want nothing changed", out, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--creds", creds("publisher"), "t-2", "127.0.0.1:9999"}, "403"},
		{[]string{"add", "--creds", creds("admin"), "T_2", "127.0.0.1:9999"}, "id:"},
		{[]string{"add", "--creds", creds("admin"), "t-2", "0.0.0.0:9999"}, "raft_address:"},
		{[]string{"remove", "--creds", creds("admin"), "t-9"}, "404"},
		{[]string{"remove", "--creds", creds("admin"), "t-1"}, "last voter"},
	} {
		args := append([]string{"cluster", "--node", n.URL()}, tc.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("creditx %s: %v, want an error containing %q", strings.Join(args, " "), err, tc.want)
		}
	}
	out, err = run(t, "cluster", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"list", "add", "remove", "--node", "--creds"} {
		if !strings.Contains(out, sub) {
			t.Errorf("cluster --help does not mention %s:\n%s", sub, out)
		}
	}
}
