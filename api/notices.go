package api

import (
	"github.com/creditx/creditx/schemas"
)

// NoticeView is a sanction notice with its feedback and current state.
type NoticeView struct {
	Origin string                  `json:"origin"`
	Index  uint64                  `json:"index"`
	Notice *schemas.SanctionNotice `json:"notice"`
	// LeafHash is the notice entry's hex leaf hash, what feedback cites in
	// notice.hash (also for a notice in a loop log, whose entries
	// GET /v1/records does not serve).
	LeafHash string            `json:"leaf_hash,omitempty"`
	State    string            `json:"state"` // pending, answered, overdue, lifted
	Late     bool              `json:"late,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Feedback *schemas.Feedback `json:"feedback,omitempty"`
	// Unbound lists feedback referencing the notice that does not count
	// (not the addressee's, or not in the notice's ledger), and why.
	Unbound []string `json:"unbound_feedback,omitempty"`
	// FeedbackDue is the deadline in force: the notice's, or its
	// recomputation once the calendar year was adopted (DueCorrection);
	// Provisional says it still lies past the adopted calendar.
	FeedbackDue   schemas.Date   `json:"feedback_due"`
	Provisional   bool           `json:"feedback_due_provisional,omitempty"`
	DueCorrection *DueCorrection `json:"due_correction,omitempty"`
}

// NoticesPage is the answer of GET /v1/notices: at most limit notices in
// ledger order, the cursor to ask with next, and whether more notices were
// already there when this page was read (ask again at once; otherwise ask
// later, or long-poll with wait=).
type NoticesPage struct {
	Notices []NoticeView `json:"notices"`
	Next    string       `json:"next"`
	More    bool         `json:"more"`
}
