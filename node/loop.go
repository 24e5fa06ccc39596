package node

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
//     any other entry (checkLoopEntry), and every entry's signing key must be
//     registered and not revoked in the keyring in force when it is appended
//     (the keyring as of the ledger's size then; the loop log has no
//     governance of its own).
//   - Default off: a node without the switch writes, reads and serves what
//     it did before, and needs no loop key.
//
// Not yet (see /work/team/status/loop.md and exchange/DESIGN.md): the
// exchange does not witness or follow the loop log, so notices in it are
// not mirrored by other members, "?witness=" waits are refused for batches
// written to it, and the audit does not fetch it from other members.

import (
	"fmt"
	"net/http"

	"github.com/creditx/creditx/schemas"
)

// loopOrigin is this member's loop log, or "" when notices and feedback go
// to its ledger (sanctions.loop_log off).
func (n *Node) loopOrigin() string {
	if !n.cfg.Sanctions.LoopLog {
		return ""
	}
	return schemas.LoopOrigin(n.cfg.Region)
}

// noticeOrigin is the log this node writes its new sanction notices to.
func (n *Node) noticeOrigin() string {
	if lo := n.loopOrigin(); lo != "" {
		return lo
	}
	return n.origin
}

// ownNoticeLog says whether origin is a log of this member that holds its
// own notices: its ledger (always; notices written before the loop log or
// without it) or its loop log.
func (n *Node) ownNoticeLog(origin string) bool {
	return origin == n.origin || (origin != "" && origin == n.loopOrigin())
}

// addLoopLog loads the loop key into logs when the loop log is on.
func (n *Node) addLoopLog(logs map[string]signingLog) error {
	lo := n.loopOrigin()
	if lo == "" {
		return nil
	}
	s, v, err := loadNoteKey(n.cfg.Sanctions.LoopKey, lo)
	if err != nil {
		return fmt.Errorf("sanctions.loop_log: %w", err)
	}
	logs[lo] = signingLog{signer: s, verifier: v}
	return nil
}

// recordLog is the log of this member that rec is written to.
func (n *Node) recordLog(rec schemas.Record) string {
	lo := n.loopOrigin()
	if lo == "" {
		return n.origin
	}
	switch r := rec.(type) {
	case *schemas.SanctionNotice:
		return lo
	case *schemas.Feedback:
		if r.Notice.Origin == lo {
			return lo
		}
	}
	return n.origin
}

// submitLog is the log a submitted batch goes to: every entry's recordLog.
// Entries that do not decode count for the ledger (admission refuses them
// with the reason). A batch spanning the ledger and the loop log is refused.
func (n *Node) submitLog(entries [][]byte) (string, *apiError) {
	if n.loopOrigin() == "" || len(entries) == 0 {
		return n.origin, nil
	}
	first := ""
	for i, e := range entries {
		o := n.origin
		if rec := decodeRecord(e); rec != nil {
			o = n.recordLog(rec)
		}
		if i == 0 {
			first = o
			continue
		}
		if o != first {
			return "", &apiError{Status: http.StatusBadRequest, Error: "1 problem(s); nothing was written",
				Errors: []FieldError{{Record: i, Rule: "loop_log", Message: fmt.Sprintf(
					"record %d goes to %s and record 0 to %s: sanction notices and feedback on them are written to the loop log, submit them in a batch of their own", i, o, first)}}}
		}
	}
	return first, nil
}

// checkLoopEntry is the FSM's check of an entry appended to the loop log:
// a signed sanction notice or feedback whose key is valid now (the keyring
// is rebuilt in apply order, so "now" is the ledger's size at this append).
func (n *Node) checkLoopEntry(e []byte) error {
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
	if _, err := n.keyring.Load().Lookup(s.KeyID, ^uint64(0)); err != nil {
		return err
	}
	return nil
}

// loopForCode maps the {code} of a /loop/ URL to a loop log this node
// serves: its own only (the exchange does not mirror loop logs yet).
func (n *Node) loopForCode(code string) (string, bool) {
	if lo := n.loopOrigin(); lo != "" && code == n.cfg.Region {
		return lo, true
	}
	return "", false
}

// handleLoopCheckpoint and handleLoopTile serve the loop log's tlog-tiles
// read API, GET /loop/<code>/checkpoint and /loop/<code>/tile/...; entry
// bundles with personal data are gated as the ledger's are.
func (n *Node) handleLoopCheckpoint(w http.ResponseWriter, r *http.Request) {
	origin, ok := n.loopForCode(r.PathValue("code"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	n.serveCheckpoint(w, origin)
}

func (n *Node) handleLoopTile(w http.ResponseWriter, r *http.Request) {
	origin, ok := n.loopForCode(r.PathValue("code"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	n.serveTile(w, r, origin, "tile/"+r.PathValue("path"))
}
