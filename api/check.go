package api

import (
	"time"

	"github.com/creditx/creditx/schemas"
)

// CheckAnswer answers "may this subject get this approval?" (GET /v1/check).
type CheckAnswer struct {
	Subject  string         `json:"subject"`
	Action   string         `json:"action,omitempty"`
	At       time.Time      `json:"at"`
	Result   string         `json:"result"` // "allowed" or "restricted"
	Measures []CheckMeasure `json:"measures"`
	Listings []CheckFinding `json:"listings"`
	// Conflicts among the subject's listings: those in force at At, and
	// those recorded when the listings were indexed.
	Conflicts []RecordedConflict `json:"conflicts,omitempty"`
}

// CheckMeasure is a measure that restricts the subject for the action.
type CheckMeasure struct {
	Listing schemas.Ref     `json:"listing"`
	Role    string          `json:"role"` // enterprise or responsible_person
	Measure schemas.Measure `json:"measure"`
}

// CheckFinding is a listing naming the subject, from any member, with the
// proof that it is in that member's ledger.
type CheckFinding struct {
	Ref            schemas.Ref `json:"ref"`
	Member         string      `json:"member"`
	Programme      string      `json:"programme"`
	Domain         string      `json:"domain"`
	Role           string      `json:"role"`
	State          string      `json:"state"`
	Restricts      bool        `json:"restricts"`
	Reason         string      `json:"reason,omitempty"`
	Checkpoint     string      `json:"checkpoint"`
	InclusionProof []string    `json:"inclusion_proof"`
}

// BatchCheckRequest is the body of POST /v1/check.
type BatchCheckRequest struct {
	Subjects []string `json:"subjects"` // USCCs, citizen IDs or h1: hashes; at most 1000
	Action   string   `json:"action"`
	At       string   `json:"at,omitempty"`
	Purpose  string   `json:"purpose,omitempty"` // required if any subject is a natural person
}
