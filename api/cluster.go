package api

// ClusterStatus is the answer of GET /v1/cluster: the raft configuration as
// the answering replica knows it. The leader's view is authoritative; a
// follower's may lag by the configuration changes it has not received yet.
type ClusterStatus struct {
	Replica string `json:"replica"` // the replica that answered
	Leader  string `json:"leader"`  // replica id of the leader, "" if none is known
	// Index is the raft index of the configuration when the replica knows
	// it; hashicorp/raft v1.7.3 does not report it, so it is 0 and left out.
	Index   uint64          `json:"index,omitempty"`
	Servers []ClusterServer `json:"servers"`
}

// ClusterServer is one server of the region's raft configuration.
type ClusterServer struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raft_address"`
	Suffrage    string `json:"suffrage"` // "voter", "nonvoter" or "staging"
	Leader      bool   `json:"leader"`
	// API is the server's HTTPS API as listed in the answering replica's
	// peers; empty for a replica that joined later and is not listed there.
	API string `json:"api,omitempty"`
	// LastIndex and AppliedIndex are known only for the answering replica
	// (raft does not expose the leader's view of its followers cheaply).
	LastIndex    uint64 `json:"last_index,omitempty"`
	AppliedIndex uint64 `json:"applied_index,omitempty"`
}

// ClusterChange is the answer of a committed (or already present) change.
type ClusterChange struct {
	// Changed is false when the configuration already was as asked (the
	// same id with the same address, already a voter).
	Changed bool `json:"changed"`
	// Index is the raft index of the configuration change, committed; for
	// a repeat (Changed false), the index the leader had applied when it
	// knew the configuration with it committed.
	Index   uint64        `json:"index"`
	Cluster ClusterStatus `json:"cluster"`
}

// AddReplicaRequest is the body of POST /v1/cluster/replicas.
type AddReplicaRequest struct {
	ID          string `json:"id"`           // replica id, as in its certificate, e.g. "zj-4"
	RaftAddress string `json:"raft_address"` // host:port the other replicas dial for raft
}
