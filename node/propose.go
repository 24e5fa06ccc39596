package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// The one way a replica gets something done by its region's leader.
//
//   - propose commits a raft command (command.go) and returns the leader's
//     answer: on the leader through applyRaft, on a follower by forwarding
//     the encoded command to the leader's POST /internal/v1/apply
//     (forwardCommand; the leader admits it again, internal/admission/forward.go).
//   - retryLeader is the one retry rule, used by propose and by the
//     requests a follower relays whole (membership changes, cluster_api.go;
//     witness requests, exchange_forward.go): try again after a leader
//     change or a failure to reach the leader (retryable), every 50 ms,
//     until the caller's context ends (defaultProposeTimeout if it has no
//     deadline).
//   - callLeader is the one way to reach the leader: its API address
//     (leaderAPI) over the replicas' mutual-TLS client (Node.peer).
//
// Every command is idempotent (the FSM keeps the first index of an entry;
// vault and revocation commands compare before they write), so a retry, or a
// command that committed after its caller's context ended, never writes twice.

// defaultProposeTimeout bounds a proposal whose context has no deadline (an
// HTTP request's context usually has none): long enough to ride out a
// leader election (raft's defaults elect in 1-2 s) and a retry or two.
const defaultProposeTimeout = 10 * time.Second

// retryPause is the pause between two tries of retryLeader.
const retryPause = 50 * time.Millisecond

// proposeContext is ctx with defaultProposeTimeout if it has no deadline.
func proposeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultProposeTimeout)
}

// errNotLeader is answered (421) by a replica asked to do what only the
// leader does; the asking replica looks the leader up again and retries.
var errNotLeader = errors.New("not the raft leader")

// errForward marks a failure to reach the leader (retried).
var errForward = errors.New("forwarding to the leader failed")

// errLeaderOnly refuses, on a replica that does not lead, a command only
// the leader proposes (the exchange ops 2-5, made by the leader's own
// exchange.Runtime). It is not retried: the runtime stops its loops when it
// loses the lead.
var errLeaderOnly = errors.New("only the raft leader proposes this command")

// retryable says whether a try may succeed when repeated: the leader
// changed, is not known yet, or could not be reached.
func retryable(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, errNotLeader) ||
		errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, errForward)
}

// forwardable says whether a replica that does not lead forwards op to the
// leader: appends (op 1) and the region-state ops (regionOp). The leader
// admits nothing else from a replica (internal/admission/forward.go).
func forwardable(op byte) bool { return op == opAppend || regionOp(op) }

// proposal is the leader's answer to a command committed through propose.
type proposal struct {
	// res is the FSM's result when this replica led and applied the
	// command itself; nil when the leader answered a forwarded command.
	res *applyResult
	// receipts are the leader's receipts for a forwarded append (op 1).
	receipts []Receipt
	// region is the answer to a region-state command (regionOp), applied
	// here or forwarded.
	region regionAnswer
}

// regionAnswer is what the leader's /internal/v1/apply returns for a
// region-state command (ops 6-9). The JSON names are the wire format.
type regionAnswer struct {
	// Count is what the command changed: keys newly stored (op 6),
	// destroyed (op 7), re-wrapped (op 8); 1 for a new revocation (op 9),
	// 0 when it was revoked already.
	Count int    `json:"vault"`
	Epoch uint64 `json:"epoch,omitempty"` // op 8 (internal/vaultops)
}

// propose commits c through the region's raft log and returns the
// leader's answer once the command is committed on a quorum and applied on
// the leader (durable and, for appends, checkpointed). A replica that does
// not lead forwards a forwardable command to the leader; it retries through
// leader changes until ctx ends (retryLeader).
//
// The error is the FSM's refusal (a *refusedError with the API answer, or
// the FSM's own error for ops without one), or a failure: then the command
// may or may not have committed, and repeating it is safe. When this
// replica applied the command as leader, p.res is set even if err is the
// FSM's refusal. A command that cannot be encoded is refused (400) without
// being proposed.
func (n *Node) propose(ctx context.Context, c command) (p proposal, err error) {
	cmd, err := encodeCommand(c)
	if err != nil {
		return proposal{}, &refusedError{errorf(http.StatusBadRequest, "%v", err)}
	}
	err = n.retryLeader(ctx, func(ctx context.Context, leader bool) (err error) {
		switch {
		case leader:
			p, err = n.proposeLocal(ctx, c, cmd)
		case forwardable(c.op):
			p, err = n.forwardCommand(ctx, c.op, cmd)
		default:
			p, err = proposal{}, errLeaderOnly
		}
		return err
	})
	return p, err
}

// proposeLocal applies cmd (of op) through raft on this replica, which
// leads, and maps the FSM's refusal to its API answer (refusalOf). It is
// propose's leader step and what the leader runs for a forwarded command
// (handleApply).
func (n *Node) proposeLocal(ctx context.Context, c command, cmd []byte) (proposal, error) {
	start := time.Now()
	var res *applyResult
	var err error
	if n.coalescable(c) {
		res, err = n.appends.apply(ctx, c, cmd, n.applyCommandRaft) // coalesce.go
	} else {
		res, err = n.applyRaft(ctx, cmd)
	}
	if err != nil {
		return proposal{}, err
	}
	if c.op == opAppend {
		n.metrics.applyLatency.Observe(time.Since(start).Seconds())
	}
	return proposal{res: res, region: regionAnswer{Count: res.Vault, Epoch: res.Epoch}}, refusalOf(res.Err)
}

// refusalOf maps an error the FSM answered in applyResult.Err to the
// answer the API gives: a signing key refused at its index (403), a spent
// lookup cap (429), a vault refusal (vaultRefusal); any other error as it
// is (nil stays nil).
func refusalOf(err error) error {
	var ere *entryRefusedError
	if errors.As(err, &ere) {
		return refusedAtApply(ere)
	}
	if rf := lookupRefusal(err); rf != nil {
		return rf
	}
	return vaultRefusal(err)
}

// applyCommandRaft is applyRaft for command c, encoded as cmd (nil: encoded
// here).
func (n *Node) applyCommandRaft(ctx context.Context, c command, cmd []byte) (*applyResult, error) {
	if cmd == nil {
		var err error
		if cmd, err = encodeCommand(c); err != nil {
			return nil, err
		}
	}
	return n.applyRaft(ctx, cmd)
}

// applyRaft runs an encoded command through raft on this replica, which
// must lead, and returns the FSM's result once the command is committed on
// a quorum and applied here. It is the one place a replica calls
// raft.Apply; the wait, enqueueing included, is bounded by ctx (see
// proposeContext). When ctx ends first the command may still commit.
func (n *Node) applyRaft(ctx context.Context, cmd []byte) (*applyResult, error) {
	ctx, cancel := proposeContext(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	f := n.rep.Raft.Apply(cmd, time.Until(deadline))
	if err := raftcluster.WaitFuture(ctx, f); err != nil {
		return nil, err
	}
	res, ok := f.Response().(*applyResult)
	if !ok || res == nil {
		return nil, fmt.Errorf("raft returned no result")
	}
	return res, nil
}

// retryLeader is the one retry rule of everything a replica asks of its
// leader: try runs with leader saying whether this replica leads now, and is
// tried again after a retryable error until ctx ends (see proposeContext).
func (n *Node) retryLeader(ctx context.Context, try func(ctx context.Context, leader bool) error) error {
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
		case <-time.After(retryPause):
		}
	}
}

// callLeader sends one request to the leader's API (path, with body and
// header) over the replicas' mutual-TLS client, bounded by ctx, and
// returns the response (the caller closes its body) and the leader's id.
// No leader known yet, or a leader that cannot be reached, is errForward
// (retried); a leader whose API address is unknown here is not.
func (n *Node) callLeader(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, string, error) {
	base, leaderID := n.leaderAPI()
	if leaderID == "" {
		return nil, "", fmt.Errorf("%w: no leader elected yet", errForward)
	}
	if base == "" {
		return nil, leaderID, fmt.Errorf("leader %s is not in this replica's peers, so its API address is unknown here; send the request to the leader", leaderID)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, leaderID, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := n.peer.Do(req)
	if err != nil {
		return nil, leaderID, fmt.Errorf("%w: %v", errForward, err)
	}
	return resp, leaderID, nil
}

// maxLeaderAnswer bounds the leader's answer to a forwarded command (the
// receipts of a whole batch, each with its proof).
const maxLeaderAnswer = 64 << 20

// forwardCommand sends an encoded command of op to the leader's
// /internal/v1/apply (handleApply) and decodes its answer: receipts for an
// append, a regionAnswer for a region-state op. 421 and 503 mean the
// leader changed or could not commit (errNotLeader, retried); 400, 403,
// 404, 409, 410, 422 and 429 with an API error are the leader's refusal.
func (n *Node) forwardCommand(ctx context.Context, op byte, cmd []byte) (proposal, error) {
	resp, leaderID, err := n.callLeader(ctx, http.MethodPost, "/internal/v1/apply", cmd,
		http.Header{"Content-Type": {"application/octet-stream"}})
	if err != nil {
		return proposal{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLeaderAnswer))
	if err != nil {
		return proposal{}, fmt.Errorf("%w: reading leader %s answer: %v", errForward, leaderID, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var p proposal
		if regionOp(op) {
			err = json.Unmarshal(body, &p.region)
		} else {
			var sr SubmitResponse
			err = json.Unmarshal(body, &sr)
			p.receipts = sr.Results
		}
		if err != nil {
			return proposal{}, fmt.Errorf("%w: decoding leader %s answer: %v", errForward, leaderID, err)
		}
		return p, nil
	case http.StatusMisdirectedRequest, http.StatusServiceUnavailable:
		return proposal{}, fmt.Errorf("%w: leader %s answered %s", errNotLeader, leaderID, resp.Status)
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusGone,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests: // refused by the leader's admission or FSM (refusalOf)
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(body, ae) == nil && ae.Error != "" {
			return proposal{}, &refusedError{ae}
		}
	}
	return proposal{}, fmt.Errorf("leader %s answered %s: %.4096s", leaderID, resp.Status, body)
}

// handleApply is the leader side of forwardCommand: a replica of this
// region sends an encoded command, which the leader admits again
// (internal/admission/forward.go) before applying it (proposeLocal). The answer is
// the receipts of an append or the regionAnswer of a region-state op; a
// refusal its API error; a failure 503 if the leader changed or the wait
// ended (the forwarder retries), else 500.
func (n *Node) handleApply(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleReplica)
	if !ok {
		return
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "replica of region %s may not write to %s", id.Region, n.cfg.Region))
		return
	}
	cmd, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*n.cfg.MaxBodyBytes))
	if err != nil {
		writeErr(w, errorf(http.StatusRequestEntityTooLarge, "%v", err))
		return
	}
	c, err := decodeCommand(cmd)
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	if !n.IsLeader() {
		writeErr(w, errorf(http.StatusMisdirectedRequest, "%v", errNotLeader))
		return
	}
	if ae := n.admitForwarded(c); ae != nil { // internal/admission/forward.go: the same admission as direct writes
		writeErr(w, ae)
		return
	}
	p, err := n.proposeLocal(r.Context(), c, cmd)
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		writeErr(w, refused.ae)
	case err != nil && retryable(err):
		writeErr(w, errorf(http.StatusServiceUnavailable, "%v", err))
	case err != nil:
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
	case regionOp(c.op):
		writeCompactJSON(w, http.StatusOK, p.region)
	default:
		rs, err := n.receipts(p.res, c.entries)
		if err != nil {
			writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
			return
		}
		writeCompactJSON(w, http.StatusOK, SubmitResponse{Results: rs})
	}
}
