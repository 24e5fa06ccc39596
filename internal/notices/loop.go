package notices

// The loop log (issue 20, exchange/DESIGN.md "Per-kind replication").
//
// With sanctions.loop_log set, this member writes its sanction notices and
// the feedback on them to a second log of its own, creditx.<code>/loop,
// signed with keys/loop.key (provision writes one for every new region), a
// Merkle log with signed checkpoints like the ledger and the access log,
// served as tlog-tiles under /loop/<code>/. Everything that reads notices
// and feedback (the inbox and its feed, /v1/notices, deadline tracking, the
// audit page) reads them by origin from the notices index, so it reads the
// loop log and any notices the ledger already holds alike.
//
// What is guaranteed:
//   - A notice this node issues goes to the loop log; feedback goes to the
//     log of the notice it answers (sanctions.FeedbackUnbound requires the
//     same log), so feedback on a notice written in the ledger before the
//     switch still goes to the ledger, and such ledgers verify and audit as
//     before. A submitted batch that would span both logs is refused (400):
//     nothing is written.
//   - The loop log holds only sanction notices and feedback: the FSM refuses
//     any other entry (CheckLoopEntry), and every entry's signing key must be
//     registered and not revoked in the keyring in force when it is appended
//     (the keyring as of the ledger's size then; the loop log has no
//     governance of its own).
//   - Default off: a node without the switch writes, reads and serves what
//     it did before, and needs no loop key.
//
// The exchange (exchange/loop_witness.go, loop_follow.go, loop_custody.go)
// takes the loop log up when the manifest gives the member a loop_vkey: its
// checkpoints are witnessed like the ledger's (same witnesses, same quorum,
// /loop/<code>/checkpoint serves the cosigned one, "?witnessed=" waits work
// for batches written to it), every other member follows its witnessed
// checkpoint and checks consistency (equivocation alerts as for ledgers),
// and two custodians hold a verified copy of its entries and serve it at
// /loop/<code>/. Without a loop_vkey (members that joined by governance:
// member_approve carries no loop key yet) the loop log is written and
// served as above but neither witnessed, followed nor copied, and
// "?witnessed=" is refused (400) for batches written to it.
//
// The audit (audit/loopcheck.go) and `creditx verify` fetch and check loop
// logs with the member's ledger keyring (internal/trust/loop.go). Default
// off for its cost at 45 members (exchange/DESIGN.md "What is built").

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"

	"github.com/creditx/creditx/schemas"
)

// Logs are this member's logs that notices and feedback are written to.
type Logs struct {
	Ledger string // its ledger, creditx.<code>
	Loop   string // its loop log, creditx.<code>/loop; "" with sanctions.loop_log off
}

// NoticeOrigin is the log this node writes its new sanction notices to.
func (l Logs) NoticeOrigin() string {
	if l.Loop != "" {
		return l.Loop
	}
	return l.Ledger
}

// Own says whether origin is a log of this member that holds its own
// notices: its ledger (always; notices written before the loop log or
// without it) or its loop log.
func (l Logs) Own(origin string) bool {
	return origin == l.Ledger || (origin != "" && origin == l.Loop)
}

// RecordLog is the log of this member that rec is written to.
func (l Logs) RecordLog(rec schemas.Record) string {
	if l.Loop == "" {
		return l.Ledger
	}
	switch r := rec.(type) {
	case *schemas.SanctionNotice:
		return l.Loop
	case *schemas.Feedback:
		if r.Notice.Origin == l.Loop {
			return l.Loop
		}
	}
	return l.Ledger
}

// SubmitLog is the log a submitted batch goes to: every entry's RecordLog.
// Entries that do not decode count for the ledger (admission refuses them
// with the reason). A batch spanning the ledger and the loop log is refused
// (400, nothing is written).
func (l Logs) SubmitLog(entries [][]byte) (string, *api.ErrorBody) {
	if l.Loop == "" || len(entries) == 0 {
		return l.Ledger, nil
	}
	first := ""
	for i, e := range entries {
		o := l.Ledger
		if rec := schemas.DecodeEntry(e); rec != nil {
			o = l.RecordLog(rec)
		}
		if i == 0 {
			first = o
			continue
		}
		if o != first {
			return "", &api.ErrorBody{Status: http.StatusBadRequest, Error: "1 problem(s); nothing was written",
				Errors: []api.FieldError{{Record: i, Rule: "loop_log", Message: fmt.Sprintf(
					"record %d goes to %s and record 0 to %s: sanction notices and feedback on them are written to the loop log, submit them in a batch of their own", i, o, first)}}}
		}
	}
	return first, nil
}

// CheckLoopEntry is the FSM's check of an entry appended to the loop log:
// a signed sanction notice or feedback whose key is valid now in kr (the
// keyring is rebuilt in apply order, so "now" is the ledger's size at this
// append).
func CheckLoopEntry(e []byte, kr *schemas.Keyring) error {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return fmt.Errorf("loop log: not a signed record: %w", err)
	}
	rec, err := s.Decode()
	if err != nil {
		return fmt.Errorf("loop log: %w", err)
	}
	if k := rec.Kind(); k != "sanction_notice" && k != "feedback" {
		return fmt.Errorf("loop log: a %s is not written to the loop log, only sanction notices and feedback", k)
	}
	if _, err := kr.Lookup(s.KeyID, ^uint64(0)); err != nil {
		return err
	}
	return nil
}
