package node

import (
	"context"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/clusterops"
	"github.com/creditx/creditx/ledger"
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
// DELETE /v1/cluster/replicas/{id} are package clusterops (who may ask,
// relaying to the leader, the answers); this file is the glue (the node as
// clusterops.Node) and the joining side (Config.Join, runJoin).

func (n *Node) clusterOps() *clusterops.Handlers {
	return clusterops.New(clusterops.Config{Region: n.cfg.Region, ReplicaID: n.cfg.ReplicaID, Peers: n.cfg.Peers,
		Replica: n.rep, Logger: n.logger, ErrNotLeader: errNotLeader, ErrForward: errForward}, opsNode{n})
}

func (n *Node) clusterStatus() (ClusterStatus, error) { return n.clusterOps().Status() }

func (n *Node) handleCluster(w http.ResponseWriter, r *http.Request)    { n.clusterOps().Get(w, r) }
func (n *Node) handleAddReplica(w http.ResponseWriter, r *http.Request) { n.clusterOps().Add(w, r) }
func (n *Node) handleRemoveReplica(w http.ResponseWriter, r *http.Request) {
	n.clusterOps().Remove(w, r)
}

// opsNode is the node as clusterops.Node and exchangeops.Node.
type opsNode struct{ n *Node }

func (c opsNode) View(fn func(tx *ledger.ReadTx) error) error { return c.n.fsm.view(fn) }

func (c opsNode) Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool) {
	return c.n.require(w, r, roles...)
}

func (c opsNode) RetryLeader(ctx context.Context, try func(ctx context.Context, leader bool) error) error {
	return c.n.retryLeader(ctx, try)
}

func (c opsNode) CallLeader(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, string, error) {
	return c.n.callLeader(ctx, method, path, body, header)
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
		Timeout: clusterops.ChangeTimeout + 5*time.Second, Logger: n.logger}
	return j.Join(ctx, n.rep.Raft)
}
