package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/pki"
	"github.com/hashicorp/raft"
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
	cf := n.rep.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return ClusterStatus{}, err
	}
	_, leader := n.rep.raft.LeaderWithID()
	st := ClusterStatus{Replica: n.cfg.ReplicaID, Leader: string(leader), Index: cf.Index(), Servers: []ClusterServer{}}
	for _, s := range cf.Configuration().Servers {
		cs := ClusterServer{ID: string(s.ID), RaftAddress: string(s.Address), Suffrage: suffrageName(s.Suffrage), Leader: s.ID == leader}
		for _, p := range n.cfg.Peers {
			if p.ID == cs.ID {
				cs.API = p.API
			}
		}
		if cs.ID == n.cfg.ReplicaID {
			cs.LastIndex = n.rep.raft.LastIndex()
			cs.AppliedIndex = n.rep.raft.AppliedIndex()
		}
		st.Servers = append(st.Servers, cs)
	}
	return st, nil
}

func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	default:
		return "staging"
	}
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
	if aerr := validateAddReplica(req); aerr != nil {
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
		return n.addVoter(ctx, req)
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
		index, aerr := n.removeServer(ctx, target)
		return aerr == nil, index, aerr
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

// validateAddReplica checks the fields of an add request and names each bad
// one.
func validateAddReplica(req AddReplicaRequest) *apiError {
	var fes []FieldError
	if !validReplicaID(req.ID) {
		fes = append(fes, FieldError{Record: -1, Field: "id", Rule: "replica_id",
			Message: fmt.Sprintf("%q is not a replica id: 1-32 characters a-z, 0-9 and '-', starting with a letter, not ending with '-'", req.ID)})
	}
	if msg := checkRaftAddress(req.RaftAddress); msg != "" {
		fes = append(fes, FieldError{Record: -1, Field: "raft_address", Rule: "host_port", Message: msg})
	}
	if len(fes) == 0 {
		return nil
	}
	var names []string
	for _, fe := range fes {
		names = append(names, fe.Field)
	}
	return &apiError{Status: http.StatusBadRequest, Error: "invalid " + strings.Join(names, ", "), Errors: fes}
}

// validReplicaID is the rule the region CA applies to the id of a replica
// certificate (package pki), so that a replica can add itself by its
// certificate's id.
func validReplicaID(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkRaftAddress returns why a is not an address other replicas can dial,
// or "".
func checkRaftAddress(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Sprintf("%q is not host:port: %v", a, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("%q: port must be 1-65535", a)
	}
	if host == "" {
		return fmt.Sprintf("%q: host is required (the address the other replicas dial)", a)
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return fmt.Sprintf("%q: %s is a listen address, not one the other replicas can dial", a, host)
		}
		return ""
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Sprintf("%q: %q is not a host name or IP address", a, host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("%q: %q is not a host name or IP address", a, host)
			}
		}
	}
	return ""
}

// addVoter makes req a voter on the leader. It re-reads the configuration
// and passes its index to raft (prevIndex), so that two concurrent changes
// cannot both pass the duplicate check; the loser retries against the new
// configuration.
func (n *Node) addVoter(ctx context.Context, req AddReplicaRequest) (changed bool, index uint64, aerr *apiError) {
	id, addr := raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddress)
	for {
		cf := n.rep.raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			return false, 0, errorf(http.StatusServiceUnavailable, "reading the raft configuration: %v", err)
		}
		present := false
		for _, s := range cf.Configuration().Servers {
			switch {
			case s.ID == id && s.Address != addr:
				return false, 0, errorf(http.StatusConflict, "replica %s is already a member with raft address %s, not %s; remove it first to replace it", id, s.Address, addr)
			case s.ID != id && s.Address == addr:
				return false, 0, errorf(http.StatusConflict, "raft address %s is already used by replica %s", addr, s.ID)
			case s.ID == id:
				present = s.Suffrage == raft.Voter
			}
		}
		if present {
			// Idempotent repeat: answer once the configuration that has it
			// is committed (a barrier commits everything before it).
			if err := waitFuture(ctx, n.rep.raft.Barrier(5*time.Second)); err != nil {
				return false, 0, changeErr(err)
			}
			return false, cf.Index(), nil
		}
		f := n.rep.raft.AddVoter(id, addr, cf.Index(), 5*time.Second)
		err := waitFuture(ctx, f)
		if err == nil {
			n.logger.Info("replica added to the raft configuration", "id", req.ID, "raft_address", req.RaftAddress, "index", f.Index())
			return true, f.Index(), nil
		}
		if aerr := n.retryChange(ctx, err); aerr != nil {
			return false, 0, aerr
		}
	}
}

// removeServer removes id from the configuration on the leader.
func (n *Node) removeServer(ctx context.Context, target string) (index uint64, aerr *apiError) {
	id := raft.ServerID(target)
	for {
		cf := n.rep.raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			return 0, errorf(http.StatusServiceUnavailable, "reading the raft configuration: %v", err)
		}
		found, voters, isVoter := false, 0, false
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			}
			if s.ID == id {
				found, isVoter = true, s.Suffrage == raft.Voter
			}
		}
		if !found {
			return 0, errorf(http.StatusNotFound, "replica %q is not a member of the raft configuration", target)
		}
		if isVoter && voters == 1 {
			return 0, errorf(http.StatusConflict, "replica %s is the last voter; removing it would leave the region without a cluster", target)
		}
		f := n.rep.raft.RemoveServer(id, cf.Index(), 5*time.Second)
		err := waitFuture(ctx, f)
		if err == nil {
			n.logger.Info("replica removed from the raft configuration", "id", target, "index", f.Index())
			return f.Index(), nil
		}
		if aerr := n.retryChange(ctx, err); aerr != nil {
			return 0, aerr
		}
	}
}

// retryChange decides after a failed configuration change: nil to try again
// (the configuration changed under us), or the answer to give. Lost
// leadership is answered 421 so that a forwarding follower asks the new
// leader; a timeout 503: nothing is known to be committed, and repeating the
// request is safe.
func (n *Node) retryChange(ctx context.Context, err error) *apiError {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		return changeErr(err)
	}
	if ctx.Err() != nil {
		return changeErr(err)
	}
	// Most likely "configuration changed since ..." (prevIndex): another
	// change won the race. Re-read and decide again.
	n.logger.Warn("configuration change failed; retrying", "err", err)
	select {
	case <-ctx.Done():
		return changeErr(ctx.Err())
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

func changeErr(err error) *apiError {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		return errorf(http.StatusMisdirectedRequest, "%v: not committed, safe to retry", errNotLeader)
	}
	return errorf(http.StatusServiceUnavailable, "configuration change not known to be committed, safe to retry: %v", err)
}

// waitFuture waits for a raft future or ctx. Raft resolves every future
// (with ErrRaftShutdown at the latest), so the waiting goroutine ends.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leaderAPI is the base URL of the leader's API from this replica's peers,
// with the leader's id; base is "" if the leader is unknown or not listed.
func (n *Node) leaderAPI() (base, id string) {
	addr, lid := n.rep.raft.LeaderWithID()
	return leaderAPIBase(n.cfg.Peers, string(addr), string(lid), n.apiLn.Addr().String()), string(lid)
}

// leaderAPIBase is the HTTPS base URL of the leader's API: its entry in
// peers, else, for a replica that joined after this one was configured, the
// leader's raft host with this replica's own API port (every layout creditx
// generates gives all replicas of a region the same ports; a guess that is
// wrong fails the TLS dial or the connection, never reaches another region:
// the peer client accepts only this region's replica certificates). It is ""
// when no leader is known.
func leaderAPIBase(peers []Peer, leaderAddr, leaderID, ownAPI string) string {
	if leaderID == "" {
		return ""
	}
	for _, p := range peers {
		if p.ID == leaderID && p.API != "" {
			return strings.TrimSuffix(p.API, "/")
		}
	}
	host, _, err := net.SplitHostPort(leaderAddr)
	if err != nil || host == "" {
		return ""
	}
	ownHost, port, err := net.SplitHostPort(ownAPI)
	if err != nil || port == "" || port == "0" || host == ownHost {
		return "" // no port to guess, or the guess would be this replica itself (replicas sharing a host)
	}
	return "https://" + net.JoinHostPort(host, port)
}

// runJoin asks the replica at cfg.Join to add this replica as a voter, with
// this replica's certificate, retrying with backoff until it is accepted;
// raft then catches this replica up (a snapshot install and the log after
// it). It returns nil at once when Join is unset or this replica is already
// a voter with its address (a restart after joining), and an error when the
// cluster refuses for a reason retrying cannot fix (400, 401, 403, 404, 409):
// the process then stops rather than run as a replica of no cluster.
func (n *Node) runJoin(ctx context.Context) error {
	if n.cfg.Join == "" {
		return nil
	}
	if cf := n.rep.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == n.cfg.ReplicaID && string(s.Address) == n.raftAdv && s.Suffrage == raft.Voter {
				return nil
			}
		}
	}
	body, err := json.Marshal(AddReplicaRequest{ID: n.cfg.ReplicaID, RaftAddress: n.raftAdv})
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(n.cfg.Join, "/") + "/v1/cluster/replicas"
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, clusterChangeTimeout+5*time.Second)
		req, err := http.NewRequestWithContext(actx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			cancel()
			return fmt.Errorf("join: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		var status int
		var answer []byte
		resp, err := n.peer.Do(req)
		if err == nil {
			status = resp.StatusCode
			answer, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		switch status {
		case http.StatusOK:
			n.logger.Info("joined the region's raft cluster", "via", n.cfg.Join, "id", n.cfg.ReplicaID, "raft_address", n.raftAdv)
			return nil
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict:
			return fmt.Errorf("join via %s refused (%d): %s", n.cfg.Join, status, bytes.TrimSpace(answer))
		}
		if err == nil {
			err = fmt.Errorf("answered %d: %s", status, bytes.TrimSpace(answer))
		}
		n.logger.Warn("joining the region's raft cluster; will retry", "via", n.cfg.Join, "attempt", attempt, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
