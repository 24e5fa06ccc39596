package node

import (
	"time"

	"github.com/hashicorp/raft"
)

// ApplyAppendsForBench hands opAppend commands of the region's ledger
// straight to the FSM's ApplyBatch as one raft batch, at raft indices from
// first on, bypassing raft (BenchmarkFSMApplyBatch: the FSM's work per
// replica alone). first must lie above every index raft will ever use on
// this node: raft's own later entries are then skipped as replays, so the
// node is good for nothing else afterwards. It returns the first command's
// refusal, if any.
func (n *Node) ApplyAppendsForBench(first uint64, cmds [][][]byte) error {
	logs := make([]*raft.Log, len(cmds))
	now := time.Now()
	for i, es := range cmds {
		b, err := encodeCommand(command{op: opAppend, origin: n.origin, entries: es})
		if err != nil {
			return err
		}
		logs[i] = &raft.Log{Index: first + uint64(i), Type: raft.LogCommand, Data: b, AppendedAt: now}
	}
	for _, r := range n.fsm.ApplyBatch(logs) {
		if res, ok := r.(*applyResult); ok && res.Err != nil {
			return res.Err
		}
	}
	return nil
}
