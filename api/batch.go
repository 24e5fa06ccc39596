package api

// NDJSONContentType is the Content-Type of a POST /v1/records body holding
// the signed records one per line (LF-separated; empty lines skipped).
const NDJSONContentType = "application/x-ndjson"

// BatchReceipt acknowledges a whole submission (POST /v1/records?proofs=batch):
// every record is durable and covered by Checkpoint. The records this
// request appended are the range [First, First+Count), proved by
// RangeProof (ledger.ProveRange: std base64 hashes, in the order of the
// RFC 6962 recursion walked left to right); a record that was already in
// the ledger before (Duplicate, outside the range) carries its own
// inclusion proof. client.BatchReceipts checks one and rebuilds each record's
// Receipt.
type BatchReceipt struct {
	Origin     string        `json:"origin"`
	Checkpoint string        `json:"checkpoint"`
	First      uint64        `json:"first"`
	Count      uint64        `json:"count"`
	RangeProof []string      `json:"range_proof"`
	Records    []BatchRecord `json:"records"` // one per submitted record, in order
}

// BatchRecord is one record of a BatchReceipt.
type BatchRecord struct {
	Index          uint64   `json:"index"`
	LeafHash       string   `json:"leaf_hash"` // hex SHA-256 of 0x00 || entry
	Duplicate      bool     `json:"duplicate"`
	InclusionProof []string `json:"inclusion_proof,omitempty"` // only outside [First, First+Count)
}
