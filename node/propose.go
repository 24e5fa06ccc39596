package node

import (
	"context"
	"fmt"
	"time"
)

// defaultProposeTimeout bounds a proposal whose context has no deadline (an
// HTTP request's context usually has none): long enough to ride out a
// leader election (raft's defaults elect in 1-2 s) and a retry or two.
const defaultProposeTimeout = 10 * time.Second

// proposeContext is ctx with defaultProposeTimeout if it has no deadline.
func proposeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultProposeTimeout)
}

// applyRaft runs an encoded command through raft on this replica, which
// must lead, and returns the FSM's result once the command is committed on
// a quorum and applied here (durable and, for appends, checkpointed). It is
// the one place a replica calls raft.Apply; the wait, enqueueing included,
// is bounded by ctx (see proposeContext). When ctx ends first the command
// may still commit: every command is idempotent, so the caller retries.
func (n *Node) applyRaft(ctx context.Context, cmd []byte) (*applyResult, error) {
	ctx, cancel := proposeContext(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	f := n.rep.raft.Apply(cmd, time.Until(deadline))
	if err := waitFuture(ctx, f); err != nil {
		return nil, err
	}
	res, ok := f.Response().(*applyResult)
	if !ok || res == nil {
		return nil, fmt.Errorf("raft returned no result")
	}
	return res, nil
}

// proposeOrForward is the retry loop of a write from a client: try runs the
// command on the leader (this replica, through applyRaft) or forwards it to
// the leader, and is tried again after a leader change or a failure to
// reach the leader (retryable) until ctx ends (see proposeContext). Every
// command is idempotent (the FSM keeps the first index of an entry; vault
// commands compare before they write), so a retry never writes twice.
func (n *Node) proposeOrForward(ctx context.Context, try func(ctx context.Context, leader bool) error) error {
	ctx, cancel := proposeContext(ctx)
	defer cancel()
	for {
		last := try(ctx, n.IsLeader())
		if last == nil || !retryable(last) {
			return last
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
