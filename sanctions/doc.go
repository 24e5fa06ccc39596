// Package sanctions is the joint-punishment engine (联合惩戒): it turns a
// listing into sanction notices for this member's executing agencies,
// derives a listing's lifecycle state (objection, repair, correction,
// expiry) at any instant, tracks objection and feedback deadlines in PRC
// working days, answers pre-approval subject checks, and detects
// conflicting listings. The rules are DOMAIN.md sections 3-5b; every number
// comes from the measures catalogue (sanctions/catalogue) and the holiday
// calendar (sanctions/workdays).
//
// Guarantees:
//
//   - Pure and deterministic: no storage, network, clock, randomness,
//     goroutines or logging. Every instant is an argument, dates are taken
//     in UTC+8 with a fixed offset, and every result is ordered, so each
//     raft replica computes byte-identical notices and states from the same
//     inputs (TestNoticesDeterministic). An Engine is immutable and safe for
//     concurrent use.
//   - No measure reaches a natural person without an explicit legal basis:
//     NoticesFor issues no such notice and Check cites no such measure
//     (TestNoNoticeAgainstPersonsWithoutLegalBasis), on top of the catalogue
//     refusing such entries and schemas validation refusing such notices.
//   - History is never lost: State reports every event it applied (Trail)
//     and every event it refused to apply, with the reason (Ignored). A
//     removed or withdrawn listing stays final: nothing but a new listing
//     brings it back (TestLifecycle "removed cannot come back").
//   - Every record acting on another's entry is checked against one owner
//     table (OwnerRules, CheckOwner): corrections, repairs, objection
//     decisions and feedback by anyone but the rightful owner are ignored by
//     State and NoticeStatus, and listed in Status.Ignored with the target
//     and the owner (TestOwnerRulesInState, TestFeedbackBinding); admission
//     and the audit call the same table.
//   - Every notice cites the catalogue version it was made from, and every
//     restricting measure in a check result cites version, memorandum and
//     item.
//
// How it fails: bad input returns an error and produces nothing —
// NoticesFor returns no notices for an invalid listing, an unknown programme
// (ErrUnknownProgramme) or a deadline in a year the calendar has no
// official data for (*workdays.UnknownYearError); Check and CheckBatch
// return *CheckInputError naming the field; LoadAgencies returns every
// problem as *AgencyError. State never fails on bad events: it ignores them
// and says so in Status.Ignored; a deadline it cannot compute carries the
// reason in Deadline.Unknown instead of failing the whole state, so checks
// keep working when the calendar runs out.
//
// What this package does not do: verify signatures, inclusion proofs or who
// may submit what (admission and the exchange do that before records reach
// here); decide conflicts (it reports them); write notices (the node writes
// what NoticesFor returns into its ledger).
package sanctions
