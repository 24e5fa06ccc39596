package main

import (
	"testing"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/node/nodetest"
)

// startNode runs a single-replica region 330000 in this process until the
// test ends and returns it with its data directory (agencies' credentials
// under DIR/agencies).
func startNode(t *testing.T) (*node.Node, string) {
	t.Helper()
	return nodetest.StartDev(t, "330000")
}
