package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
)

// Wire types of this file's endpoints (package api).
type (
	ClusterStatus     = api.ClusterStatus
	ClusterServer     = api.ClusterServer
	ClusterChange     = api.ClusterChange
	AddReplicaRequest = api.AddReplicaRequest
)

// Cluster membership: GET /v1/cluster, POST /v1/cluster/replicas and
// DELETE /v1/cluster/replicas/{id} (docs/API.md), and the joining side
// (Config.Join, runJoin).
//
// A change is answered only after raft committed the new configuration on a
// quorum of the configuration it replaces; an error answer means nothing is
// known to be committed and the request may be repeated: adding the same id
// with the same address and removing an id that is already gone are both
// answered without a new change (404 for the removal, so that a caller can tell).
//
// The receiving replica authorizes the caller; a follower then forwards the
// request to its leader with its own replica certificate and
// forwardedClusterHeader, and the leader trusts that (replicas of one region
// trust each other, as for /internal/v1/apply).

// forwardedClusterHeader marks a membership change forwarded by a follower
// that already authorized the original caller. The leader trusts it only
// from a replica of its own region; a replica that is not the leader answers
// such a request 421 rather than forwarding it again.
const forwardedClusterHeader = "Creditx-Forwarded-Cluster-Change"

// clusterChangeTimeout bounds one membership change, including forwarding
// and waiting for the commit.
const clusterChangeTimeout = 15 * time.Second

func (n *Node) clusterStatus() (ClusterStatus, error) {
	return raftcluster.Status(n.rep.Raft, n.cfg.ReplicaID, n.cfg.Peers)
}

func (n *Node) handleCluster(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica); !ok {
		return
	}
	st, err := n.clusterStatus()
	if err != nil {
		writeErr(w, errorf(http.StatusServiceUnavailable, "reading the raft configuration: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// authorizeChange checks the caller of a membership change and reports
// whether the request was forwarded by a follower of this region (which
// authorized the original caller). roles are the roles allowed to ask.
func (n *Node) authorizeChange(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (id pki.Identity, forwarded, ok bool) {
	id = pki.IdentityFromRequest(r)
	if id.Role == pki.RoleReplica && id.Region == n.cfg.Region && r.Header.Get(forwardedClusterHeader) != "" {
		return id, true, true
	}
	if id, ok = n.require(w, r, roles...); !ok {
		return id, false, false
	}
	if id.Region != n.cfg.Region {
		writeErr(w, errorf(http.StatusForbidden, "a certificate of region %s may not change the replicas of %s", id.Region, n.cfg.Region))
		return id, false, false
	}
	return id, false, true
}

func (n *Node) handleAddReplica(w http.ResponseWriter, r *http.Request) {
	caller, forwarded, ok := n.authorizeChange(w, r, pki.RoleAdmin, pki.RoleReplica)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		writeErr(w, errorf(http.StatusRequestEntityTooLarge, "reading body: %v", err))
		return
	}
	var req AddReplicaRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, &apiError{Status: http.StatusBadRequest, Error: `body must be {"id": "...", "raft_address": "host:port"}`,
			Errors: []FieldError{{Record: -1, Rule: "json", Message: err.Error()}}})
		return
	}
	if aerr := raftcluster.ValidateAdd(req); aerr != nil {
		writeErr(w, aerr)
		return
	}
	if !forwarded && caller.Role == pki.RoleReplica && caller.ID != req.ID {
		writeErr(w, errorf(http.StatusForbidden, "replica %s may only add itself, not %q (an admin may add any replica)", caller.ID, req.ID))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterChangeTimeout)
	defer cancel()
	n.changeCluster(ctx, w, r, forwarded, body, func(ctx context.Context) (bool, uint64, *apiError) {
		changed, index, err := raftcluster.AddVoter(ctx, n.rep.Raft, req.ID, req.RaftAddress, n.logger)
		return changed, index, changeAnswer(err)
	})
}

func (n *Node) handleRemoveReplica(w http.ResponseWriter, r *http.Request) {
	_, forwarded, ok := n.authorizeChange(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	target := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), clusterChangeTimeout)
	defer cancel()
	n.changeCluster(ctx, w, r, forwarded, nil, func(ctx context.Context) (bool, uint64, *apiError) {
		index, err := raftcluster.Remove(ctx, n.rep.Raft, target, n.logger)
		return err == nil, index, changeAnswer(err)
	})
}

// changeCluster makes a membership change (local, on the leader) and
// answers it: on the leader at once; on a follower by relaying the
// authorized request to the leader (relayChange) and copying its answer
// back. Leader changes, also one in the middle of local, follow the one
// retry rule (retryLeader, bounded by ctx). A request that was itself
// forwarded is done here or answered 421, never forwarded again: this
// replica is not the leader the forwarder thought, and the forwarder
// retries.
func (n *Node) changeCluster(ctx context.Context, w http.ResponseWriter, r *http.Request, forwarded bool, body []byte,
	local func(ctx context.Context) (changed bool, index uint64, aerr *apiError)) {
	err := n.retryLeader(ctx, func(ctx context.Context, leader bool) error {
		if !leader {
			if forwarded {
				writeErr(w, errorf(http.StatusMisdirectedRequest, "%v", errNotLeader))
				return nil
			}
			return n.relayChange(ctx, w, r.Method, r.URL.Path, body)
		}
		changed, index, aerr := local(ctx)
		if aerr != nil && aerr.Status == http.StatusMisdirectedRequest && !forwarded {
			return fmt.Errorf("%w: %s", errNotLeader, aerr.Error) // lost the lead: ask the new leader
		}
		n.answerChange(w, changed, index, aerr)
		return nil
	})
	if err != nil {
		writeErr(w, errorf(http.StatusServiceUnavailable, "forwarding to the leader failed, safe to retry: %v", err))
	}
}

// relayChange sends an authorized membership change to the leader
// (callLeader, with forwardedClusterHeader) and copies its answer to w. A
// leader that answers 421 or 503 changed or could not commit: errNotLeader,
// retried by changeCluster, nothing written to w.
func (n *Node) relayChange(ctx context.Context, w http.ResponseWriter, method, path string, body []byte) error {
	h := http.Header{forwardedClusterHeader: {n.cfg.ReplicaID}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	resp, id, err := n.callLeader(ctx, method, path, body, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading leader %s answer: %v", errForward, id, err)
	}
	if resp.StatusCode == http.StatusMisdirectedRequest || resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("%w: leader %s answered %d: %s", errNotLeader, id, resp.StatusCode, bytes.TrimSpace(answer))
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
	return nil
}

func (n *Node) answerChange(w http.ResponseWriter, changed bool, index uint64, aerr *apiError) {
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	st, err := n.clusterStatus()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "change committed at %d, but reading the configuration failed: %v", index, err))
		return
	}
	writeJSON(w, http.StatusOK, ClusterChange{Changed: changed, Index: index, Cluster: st})
}

// changeAnswer is the API answer for an error of a membership change
// (package raftcluster); nil for nil. A lost lead is 421, so that a
// forwarding follower asks the new leader.
func changeAnswer(err error) *apiError {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raftcluster.ErrConflict):
		return errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, raftcluster.ErrUnknownReplica):
		return errorf(http.StatusNotFound, "%v", err)
	case raftcluster.LostLead(err):
		return errorf(http.StatusMisdirectedRequest, "%v: not committed, safe to retry", errNotLeader)
	}
	return errorf(http.StatusServiceUnavailable, "%v", err)
}

// leaderAPI is the base URL of the leader's API from this replica's peers,
// with the leader's id; base is "" if the leader is unknown or not listed.
func (n *Node) leaderAPI() (base, id string) {
	addr, lid := n.rep.Raft.LeaderWithID()
	return raftcluster.LeaderAPIBase(n.cfg.Peers, string(addr), string(lid), n.apiLn.Addr().String()), string(lid)
}

// runJoin asks the replica at cfg.Join to add this replica as a voter
// (raftcluster.Joiner); nil at once when Join is unset.
func (n *Node) runJoin(ctx context.Context) error {
	if n.cfg.Join == "" {
		return nil
	}
	j := raftcluster.Joiner{Via: n.cfg.Join, ID: n.cfg.ReplicaID, RaftAddr: n.raftAdv, Client: n.peer,
		Timeout: clusterChangeTimeout + 5*time.Second, Logger: n.logger}
	return j.Join(ctx, n.rep.Raft)
}
