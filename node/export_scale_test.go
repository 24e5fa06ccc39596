package node

// CheckpointChecksForTest is how many checkpoint signature checks the
// exchange's cache made (issue 20: status reads do not re-verify).
func (n *Node) CheckpointChecksForTest() uint64 {
	if n.x == nil {
		return 0
	}
	return n.x.CheckpointChecks()
}
