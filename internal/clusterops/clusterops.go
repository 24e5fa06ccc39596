package clusterops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/node/raftcluster"
	"github.com/creditx/creditx/pki"
)

// ForwardedHeader marks a membership change relayed by a follower that
// already authorized the original caller. The leader trusts it only from a
// replica of its own region; a replica that is not the leader answers such
// a request 421 rather than relaying it again.
const ForwardedHeader = "Creditx-Forwarded-Cluster-Change"

// ChangeTimeout bounds one membership change, including relaying it and
// waiting for the commit.
const ChangeTimeout = 15 * time.Second

// Node is what the cluster endpoints need of the region replica.
type Node interface {
	// Require answers 401/403 and returns false unless the caller has one
	// of roles.
	Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool)
	// RetryLeader is the replica's one retry rule towards its leader: try
	// runs with leader saying whether this replica leads now, and runs
	// again after an error wrapping Config.ErrNotLeader or
	// Config.ErrForward until ctx ends.
	RetryLeader(ctx context.Context, try func(ctx context.Context, leader bool) error) error
	// CallLeader sends one request to the leader's API over the replicas'
	// mutual-TLS client and returns its response (the caller closes the
	// body) and the leader's id; a leader that cannot be reached is an
	// error wrapping Config.ErrForward.
	CallLeader(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, string, error)
}

// Config holds what the handlers read of the replica.
type Config struct {
	Region    string               // the region's code
	ReplicaID string               // this replica's raft id
	Peers     []raftcluster.Peer   // the configured replicas of the region
	Replica   *raftcluster.Replica // this replica's raft
	Logger    *slog.Logger
	// ErrNotLeader and ErrForward are the node's sentinels its retry rule
	// retries: the leader changed, or could not be reached.
	ErrNotLeader, ErrForward error
}

// Handlers serves the cluster endpoints.
type Handlers struct {
	cfg Config
	n   Node
}

// New returns the handlers over n.
func New(cfg Config, n Node) *Handlers { return &Handlers{cfg: cfg, n: n} }

// Status reads the raft configuration with each replica's state.
func (h *Handlers) Status() (api.ClusterStatus, error) {
	return raftcluster.Status(h.cfg.Replica.Raft, h.cfg.ReplicaID, h.cfg.Peers)
}

// Get is GET /v1/cluster.
func (h *Handlers) Get(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.n.Require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica); !ok {
		return
	}
	st, err := h.Status()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "reading the raft configuration: %v", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

// authorize checks the caller of a membership change and reports whether
// the request was relayed by a follower of this region (which authorized
// the original caller). roles are the roles allowed to ask.
func (h *Handlers) authorize(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (id pki.Identity, forwarded, ok bool) {
	id = pki.IdentityFromRequest(r)
	if id.Role == pki.RoleReplica && id.Region == h.cfg.Region && r.Header.Get(ForwardedHeader) != "" {
		return id, true, true
	}
	if id, ok = h.n.Require(w, r, roles...); !ok {
		return id, false, false
	}
	if id.Region != h.cfg.Region {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "a certificate of region %s may not change the replicas of %s", id.Region, h.cfg.Region))
		return id, false, false
	}
	return id, false, true
}

// Add is POST /v1/cluster/replicas: add a voter (api.AddReplicaRequest).
func (h *Handlers) Add(w http.ResponseWriter, r *http.Request) {
	caller, forwarded, ok := h.authorize(w, r, pki.RoleAdmin, pki.RoleReplica)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "reading body: %v", err))
		return
	}
	var req api.AddReplicaRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpx.WriteErr(w, &api.ErrorBody{Status: http.StatusBadRequest, Error: `body must be {"id": "...", "raft_address": "host:port"}`,
			Errors: []api.FieldError{{Record: -1, Rule: "json", Message: err.Error()}}})
		return
	}
	if aerr := raftcluster.ValidateAdd(req); aerr != nil {
		httpx.WriteErr(w, aerr)
		return
	}
	if !forwarded && caller.Role == pki.RoleReplica && caller.ID != req.ID {
		httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "replica %s may only add itself, not %q (an admin may add any replica)", caller.ID, req.ID))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ChangeTimeout)
	defer cancel()
	h.change(ctx, w, r, forwarded, body, func(ctx context.Context) (bool, uint64, *api.ErrorBody) {
		changed, index, err := h.cfg.Replica.AddVoter(ctx, req.ID, req.RaftAddress, h.cfg.Logger)
		return changed, index, h.changeAnswer(err)
	})
}

// Remove is DELETE /v1/cluster/replicas/{id}.
func (h *Handlers) Remove(w http.ResponseWriter, r *http.Request) {
	_, forwarded, ok := h.authorize(w, r, pki.RoleAdmin)
	if !ok {
		return
	}
	target := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), ChangeTimeout)
	defer cancel()
	h.change(ctx, w, r, forwarded, nil, func(ctx context.Context) (bool, uint64, *api.ErrorBody) {
		index, err := h.cfg.Replica.Remove(ctx, target, h.cfg.Logger)
		return err == nil, index, h.changeAnswer(err)
	})
}

// change makes a membership change (local, on the leader) and answers it:
// on the leader at once; on a follower by relaying the authorized request
// to the leader (relay) and copying its answer back. Leader changes, also
// one in the middle of local, follow the node's one retry rule
// (Node.RetryLeader, bounded by ctx). A request that was itself relayed is
// done here or answered 421, never relayed again: this replica is not the
// leader the relaying follower thought, and that follower retries.
func (h *Handlers) change(ctx context.Context, w http.ResponseWriter, r *http.Request, forwarded bool, body []byte,
	local func(ctx context.Context) (changed bool, index uint64, aerr *api.ErrorBody)) {
	err := h.n.RetryLeader(ctx, func(ctx context.Context, leader bool) error {
		if !leader {
			if forwarded {
				httpx.WriteErr(w, httpx.Errorf(http.StatusMisdirectedRequest, "%v", h.cfg.ErrNotLeader))
				return nil
			}
			return h.relay(ctx, w, r.Method, r.URL.Path, body)
		}
		changed, index, aerr := local(ctx)
		if aerr != nil && aerr.Status == http.StatusMisdirectedRequest && !forwarded {
			return fmt.Errorf("%w: %s", h.cfg.ErrNotLeader, aerr.Error) // lost the lead: ask the new leader
		}
		h.answer(w, changed, index, aerr)
		return nil
	})
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusServiceUnavailable, "forwarding to the leader failed, safe to retry: %v", err))
	}
}

// relay sends an authorized membership change to the leader
// (Node.CallLeader, with ForwardedHeader) and copies its answer to w. A
// leader that answers 421 or 503 changed or could not commit:
// Config.ErrNotLeader, retried by change, nothing written to w.
func (h *Handlers) relay(ctx context.Context, w http.ResponseWriter, method, path string, body []byte) error {
	hd := http.Header{ForwardedHeader: {h.cfg.ReplicaID}}
	if body != nil {
		hd.Set("Content-Type", "application/json")
	}
	resp, id, err := h.n.CallLeader(ctx, method, path, body, hd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading leader %s answer: %v", h.cfg.ErrForward, id, err)
	}
	if resp.StatusCode == http.StatusMisdirectedRequest || resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("%w: leader %s answered %d: %s", h.cfg.ErrNotLeader, id, resp.StatusCode, bytes.TrimSpace(answer))
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
	return nil
}

func (h *Handlers) answer(w http.ResponseWriter, changed bool, index uint64, aerr *api.ErrorBody) {
	if aerr != nil {
		httpx.WriteErr(w, aerr)
		return
	}
	st, err := h.Status()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "change committed at %d, but reading the configuration failed: %v", index, err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, api.ClusterChange{Changed: changed, Index: index, Cluster: st})
}

// changeAnswer is the API answer for an error of a membership change
// (package raftcluster); nil for nil. A lost lead is 421, so that a
// relaying follower asks the new leader.
func (h *Handlers) changeAnswer(err error) *api.ErrorBody {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raftcluster.ErrConflict):
		return httpx.Errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, raftcluster.ErrUnknownReplica):
		return httpx.Errorf(http.StatusNotFound, "%v", err)
	case raftcluster.LostLead(err):
		return httpx.Errorf(http.StatusMisdirectedRequest, "%v: not committed, safe to retry", h.cfg.ErrNotLeader)
	}
	return httpx.Errorf(http.StatusServiceUnavailable, "%v", err)
}
