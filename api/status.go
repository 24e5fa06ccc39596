package api

// EventRef names an event related to a listing.
type EventRef struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	Kind   string `json:"kind"`
}

// ReplicaHealth is one row of the replica table on /status: the raft
// configuration as this replica knows it, each replica asked for its
// GET /v1/status over the replicas' mutual TLS (1 s timeout, in parallel).
type ReplicaHealth struct {
	ID, RaftAddress, API, Suffrage string
	Leader                         bool
	Reachable                      bool
	Problem                        string // why it is not healthy
	Size, Applied                  uint64
	Uptime                         string
	Self                           bool
}

// NotAppliedListing is a listing with the reason this member applies none
// of its measures.
type NotAppliedListing struct {
	Origin    string `json:"origin"`
	Index     uint64 `json:"index"`
	Programme string `json:"programme"`
	Domain    string `json:"domain"`
	State     string `json:"state"` // always "not_applied"
	Reason    string `json:"reason"`
}
