package sanctions

import (
	"slices"
	"time"

	"github.com/creditx/creditx/schemas"
)

// Notice states: the closed loop of a sanction notice (发起-响应-反馈).
const (
	NoticePending  = "pending"  // no feedback yet, deadline not passed
	NoticeAnswered = "answered" // the executing agency reported back
	NoticeOverdue  = "overdue"  // no feedback and the deadline has passed
	NoticeLifted   = "lifted"   // the measure no longer applies
)

// NoticeState is where a sanction notice stands.
type NoticeState struct {
	State string
	// Feedback is the executing agency's first feedback counted, or nil.
	Feedback *schemas.Feedback
	// Late says the feedback came after feedback_due (or, for a lifted or
	// overdue notice without feedback, that none came in time).
	Late   bool
	Reason string
}

// NoticeStatus says where notice n stands at instant at, given the feedback
// records that reference it and the status of its listing at the same
// instant (from State). Only feedback created at or before at and submitted
// for and by the notice's executing agency (agency and submitter, same
// USCC) counts; other feedback is ignored. The caller passes only feedback
// written in the notice's own ledger (FeedbackUnbound).
//
// The notice is lifted when the listing no longer restricts (removed,
// withdrawn, expired, suspended with measures suspended, red list), when
// the listing in force no longer names the notice's target (a correction
// removed that responsible person), or after the notice's end date; a lifted
// notice stays lifted whatever feedback says. Otherwise it is answered once
// feedback has come, and overdue when none has come by the end of
// feedback_due (dates in UTC+8).
//
// A nil notice gives a NoticeState with an empty State and the reason.
func NoticeStatus(n *schemas.SanctionNotice, feedback []*schemas.Feedback, listing Status, at time.Time) NoticeState {
	var st NoticeState
	if n == nil {
		st.Reason = "no notice"
		return st
	}
	for _, f := range feedback {
		if f == nil || f.CreatedAt.After(at) || f.Agency.USCC != n.ExecutingAgency.USCC || f.Submitter != n.ExecutingAgency.USCC {
			continue
		}
		if st.Feedback == nil || f.CreatedAt.Before(st.Feedback.CreatedAt.Time) {
			st.Feedback = f
		}
	}
	today := dateIn(at)
	if st.Feedback != nil {
		st.Late = dateIn(st.Feedback.CreatedAt.Time).After(n.FeedbackDue.Time)
	} else {
		st.Late = today.After(n.FeedbackDue.Time)
	}
	switch {
	case !listing.Restricts:
		st.State, st.Reason = NoticeLifted, "listing is "+listing.State
	case listing.Listing != nil && !targetNamed(listing.Listing, n.Target):
		st.State, st.Reason = NoticeLifted, "the listing in force no longer names the target"
	case today.After(n.End.Time):
		st.State, st.Reason = NoticeLifted, "notice ended "+n.End.String()
	case st.Feedback != nil:
		st.State, st.Reason = NoticeAnswered, "feedback: "+st.Feedback.Outcome
	case st.Late:
		st.State, st.Reason = NoticeOverdue, "no feedback by "+n.FeedbackDue.String()
	default:
		st.State, st.Reason = NoticePending, "feedback due "+n.FeedbackDue.String()
	}
	return st
}

// targetNamed reports whether listing l still names target t.
func targetNamed(l *schemas.Listing, t schemas.Target) bool {
	switch t.Kind {
	case "enterprise":
		return l.Subject.Type != schemas.SubjectNaturalPerson && l.Subject.USCC == t.USCC
	case "responsible_person":
		return slices.Contains(personKeys(l), t.IDHash)
	}
	return false
}
