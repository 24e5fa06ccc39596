package api

import (
	"github.com/creditx/creditx/schemas"
)

// Change is one item of the changes feed.
type Change struct {
	Change  string      `json:"change"`
	Listing schemas.Ref `json:"listing"`
	// Cause is the entry that made the change (the listing itself for
	// listed, not_applied and expired).
	Cause        EntryRefJSON `json:"cause"`
	State        string       `json:"state"` // the listing's state now
	Domain       string       `json:"domain,omitempty"`
	Programme    string       `json:"programme,omitempty"`
	SubjectType  string       `json:"subject_type,omitempty"`
	SubjectUSCC  string       `json:"subject_uscc,omitempty"` // organisations only: a person is never named here
	PublicityEnd schemas.Date `json:"publicity_end,omitzero"`
}

// ChangesPage is the answer of GET /v1/changes.
type ChangesPage struct {
	Changes []Change `json:"changes"`
	Next    string   `json:"next"`
	More    bool     `json:"more"`
}

// EntryRefJSON names a ledger entry.
type EntryRefJSON struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
}
