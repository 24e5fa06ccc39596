package api

import (
	"encoding/json"
)

// SubjectListing is one listing as its subject sees it.
type SubjectListing struct {
	Origin    string `json:"origin"`
	Index     uint64 `json:"index"`
	LeafHash  string `json:"leaf_hash"`
	As        string `json:"as"` // "subject" or "responsible_person"
	Name      string `json:"name"`
	Domain    string `json:"domain"`
	Programme string `json:"programme"`
	Authority string `json:"authority"`
	ListedOn  string `json:"listed_on"`
	Until     string `json:"publicity_end"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	Disclosed bool   `json:"disclosed"`
	Restricts bool   `json:"restricts"`
	// CanObject: an objection may be filed (the listing is not final).
	CanObject  bool               `json:"can_object"`
	Objections []SubjectObjection `json:"objections"`
	Deadlines  []SubjectDeadline  `json:"deadlines"`
	Notices    []SubjectNotice    `json:"notices"`
	Record     json.RawMessage    `json:"record"` // masked
}

// SubjectNotice is a sanction notice addressed to the subject.
type SubjectNotice struct {
	Origin  string `json:"origin"`
	Index   uint64 `json:"index"`
	Agency  string `json:"agency"`
	Measure string `json:"measure"`
	Start   string `json:"start"`
	End     string `json:"end"`
	State   string `json:"state"`
}

// SubjectObjection is one objection to the listing and its outcome.
type SubjectObjection struct {
	Origin   string   `json:"origin"`
	Index    uint64   `json:"index"`
	FiledAt  string   `json:"filed_at"`
	Grounds  []string `json:"grounds"`
	Outcome  string   `json:"outcome"` // pending, upheld, partial, rejected
	Decision string   `json:"decision,omitempty"`
}

// SubjectObjectionRequest is the body of POST /v1/subject/objections.
type SubjectObjectionRequest struct {
	Origin    string   `json:"origin"`
	Index     uint64   `json:"index"`
	Grounds   []string `json:"grounds"`
	Statement string   `json:"statement"`
}

// SubjectSelf is GET /v1/subject: what a subject sees of itself.
type SubjectSelf struct {
	Subject  string           `json:"subject"` // USCC or h1: keyed hash (the token's)
	Kind     string           `json:"kind"`
	Name     string           `json:"name,omitempty"`
	Serial   string           `json:"token_serial"`
	Expires  string           `json:"token_expires"`
	Status   string           `json:"status"` // listed (some listing restricts it) or not_listed
	Listings []SubjectListing `json:"listings"`
}

// SubjectDeadline is one working-day deadline of an objection.
type SubjectDeadline struct {
	What        string `json:"what"`
	Objection   string `json:"objection"`
	Due         string `json:"due,omitempty"`
	Done        string `json:"done,omitempty"`
	Met         bool   `json:"met"`
	Overdue     bool   `json:"overdue"`
	Provisional bool   `json:"provisional,omitempty"`
	Unknown     string `json:"unknown,omitempty"`
}
