package api

// FieldError is one problem with a submitted record, as returned by the API.
type FieldError struct {
	Record  int    `json:"record"`          // position in the submitted batch
	Field   string `json:"field,omitempty"` // JSON path inside the record
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ErrorBody is the body of every 4xx and 5xx answer.
type ErrorBody struct {
	Status int          `json:"-"`
	Error  string       `json:"error"`
	Errors []FieldError `json:"errors,omitempty"`
}

// Receipt acknowledges one durable record: it is in the ledger at Index and
// covered by the signed Checkpoint, as the inclusion proof shows.
type Receipt struct {
	Origin         string   `json:"origin"`
	Index          uint64   `json:"index"`
	LeafHash       string   `json:"leaf_hash"` // hex SHA-256 of 0x00 || entry
	Duplicate      bool     `json:"duplicate"` // the record was already in the ledger at Index
	Checkpoint     string   `json:"checkpoint"`
	InclusionProof []string `json:"inclusion_proof"`     // std base64 hashes, leaf sibling first
	Proof          string   `json:"proof"`               // the same as a C2SP tlog-proof@v1 text, leaf hash in its extra line
	Witnesses      []string `json:"witnesses,omitempty"` // with ?witnessed=1: who cosigned Checkpoint (node/proof_api.go)
}

// SubmitResponse is the body of a successful POST /v1/records.
type SubmitResponse struct {
	Results []Receipt `json:"results"`
}

// Status is the public summary of a replica, GET /v1/status.
type Status struct {
	Region   string `json:"region"`
	Origin   string `json:"origin"`
	Replica  string `json:"replica"`
	Leader   string `json:"leader"` // replica id of the current raft leader, "" if none
	IsLeader bool   `json:"is_leader"`
	Size     uint64 `json:"size"`    // entries in the region's ledger on this replica
	Applied  uint64 `json:"applied"` // last raft index applied here
	Uptime   string `json:"uptime"`
	// VaultKeyStale says why this replica still holds the vault key of
	// before an erasure (the ratchet failed; it completes at restart).
	VaultKeyStale string `json:"vault_key_stale,omitempty"`
}
