package audit

import (
	"fmt"
	"slices"

	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/schemas"
)

// Loop logs (issue 20, internal/notices/loop.go): with sanctions.loop_log a
// member writes its sanction notices and their feedback to a second log,
// creditx.<code>/loop, signed with its loop key. The audit treats a loop
// copy as it treats a ledger copy (checkpoint signature by the trusted loop
// key, cosignatures, Merkle tree, consistency and identity between copies)
// and checks every entry of its largest copy with internal/trust's loop
// check, the one "creditx verify" uses (trust.LoopKeys.Check, as the node's
// FSM did in notices.CheckLoopEntry): a signed sanction notice or feedback,
// schema-valid, signed by a key of the member's keyring (an anchor of its
// ledger or an agency key registered by a governance record of its ledger)
// that verifies the signature, whose agency (the USCC the key was
// registered for) is the record's submitter. The keyring is the one the
// ledger's trust.Pipeline left when the audit verified the member's ledger
// primary, so loop copies are checked after the ledgers; a ledger primary
// that failed any check leaves no keyring (its governance records may be
// cut short or not the ones signed into its checkpoint), and its loop log's
// entries then get trust.LoopSchemaCheck only, with a warning.
//
// What cannot be checked: a loop entry does not record the ledger size at
// its append, so "the key was valid then" is judged by time. A key revoked
// by a ledger record created at or before the loop entry's created_at makes
// the entry fail; an entry backdated before the revocation by the holder of
// the revoked key, or appended before its key's registration, is not
// caught. The report says so (Report.Checked, trust.LoopNotChecked).
//
// A loop checkpoint whose cosignatures do not meet the quorum is reported as
// not witnessed (Report.LoopLogs, Report.NotChecked), which keeps the verdict
// from PASSED, but is not an integrity failure: loop logs may not be
// witnessed by the exchange at all. A cosignature that does not verify is a
// failure, as for a ledger.

// loopLedgerName is how a loop entry's failure names the keyring it was
// checked against: the failure itself names the loop log.
const loopLedgerName = "the member's ledger"

// loopKeyring is the keyring a loop copy's entries are checked with: the
// one the Pipeline of its member's ledger primary left; nil when that
// primary was not verified with record checks against anchors, or failed
// any check.
func (a *auditor) loopKeyring(s *copyState) *trust.LoopKeys {
	p := a.primaries[schemas.LedgerOrigin(codeOf(s.Origin))]
	if p == nil || !p.res.Full || p.failed {
		return nil
	}
	return p.keys
}

// loopCheck is the entry check of a loop copy: trust.LoopKeys.Check with the
// member's keyring, or, when it is not known, trust.LoopSchemaCheck (the
// schema and the kind only, with a warning; the coverage names it).
func (s *copyState) loopCheck(warn func(string, ...any)) func(uint64, []byte) error {
	if s.loopKeys != nil {
		c := s.loopKeys.CheckNaming(loopLedgerName, nil)
		return func(i uint64, e []byte) error { _, err := c(i, e); return err }
	}
	warn("%s: the keyring of its member's ledger is not known (no copy of the ledger verified against its anchors without failure): agency signatures and key validity NOT checked, schema only", s.Origin)
	return trust.LoopSchemaCheck(nil)
}

// Loop log statuses (LoopLogResult.Status, MemberLoop.LoopLog). Only
// LoopChecked lets the closed loop of the member count as checked.
const (
	LoopChecked      = "checked"
	LoopNotFetched   = "not fetched"
	LoopNotWitnessed = "not witnessed"
	LoopFailed       = "failed"
	LoopKeysUnknown  = "keys not checked"
)

// LoopLogResult is what the audit found of one member's loop log.
type LoopLogResult struct {
	Member string `json:"member"`
	Origin string `json:"origin"`
	// Declared: the trust holds the loop log's key (the manifest's
	// loop_vkey), so the member may have notices and feedback there.
	Declared bool `json:"declared"`
	Copies   int  `json:"copies"` // copies found (fetched or read from the directory)
	// Size, Holder and Witnessed are of the copy that got every check.
	Size      uint64   `json:"size"`
	Holder    string   `json:"holder,omitempty"`
	Witnessed bool     `json:"witnessed"`
	Cosigners []string `json:"cosigners"`
	Notices   int      `json:"notices"`  // sanction notices counted from it
	Feedback  int      `json:"feedback"` // feedback records counted from it
	Status    string   `json:"status"`
	Note      string   `json:"note"`
}

// loopCoverage fills Report.LoopLogs and each member's MemberLoop.LoopLog,
// and says what was not checked: a declared loop log of an audited member
// with no copy, a loop checkpoint without the witness quorum, loop entries
// whose keyring was not known.
func (a *auditor) loopCoverage(notRun func(string, ...any)) {
	r := a.rep
	declared := map[string]bool{}
	for _, t := range []Trust{a.in.Trust, a.in.Own} {
		for _, o := range t.Origins {
			if trust.IsLoopOrigin(o.Origin) {
				declared[o.Origin] = true
			}
		}
	}
	var origins []string
	for o := range declared {
		if len(a.byOrigin[schemas.LedgerOrigin(codeOf(o))]) > 0 || len(a.byOrigin[o]) > 0 { // a member audited
			origins = append(origins, o)
		}
	}
	for _, o := range a.origins {
		if trust.IsLoopOrigin(o) && !declared[o] {
			origins = append(origins, o)
		}
	}
	slices.Sort(origins)
	counts := a.facts.loopCounts()
	r.LoopLogs = []LoopLogResult{}
	status := map[string]string{}
	for _, o := range origins {
		res := LoopLogResult{Member: codeOf(o), Origin: o, Declared: declared[o], Copies: len(a.byOrigin[o]), Cosigners: []string{}}
		c := counts[o]
		res.Notices, res.Feedback = c[0], c[1]
		p := a.primaries[o]
		failed := false
		for _, s := range a.byOrigin[o] {
			failed = failed || s.failed
		}
		switch {
		case res.Copies == 0:
			res.Status = LoopNotFetched
			res.Note = fmt.Sprintf("loop log of %s not fetched: its notices and feedback are not checked", res.Member)
			notRun("%s", res.Note)
		case p == nil || failed:
			res.Status, res.Note = LoopFailed, "a copy failed its checks: see the failures"
		default:
			res.Size, res.Holder, res.Witnessed, res.Cosigners = p.cp.Size, p.Holder, p.res.Witnessed, p.res.Cosigners
			switch {
			case !p.res.Witnessed:
				res.Status = LoopNotWitnessed
				res.Note = fmt.Sprintf("loop log of %s not witnessed: the checkpoint of size %d held by %s has %d cosignature(s) by other members %v, short of the quorum; its notices and feedback are counted but their log could be forked unseen",
					res.Member, p.cp.Size, holderName(p.Holder), len(p.res.Cosigners), p.res.Cosigners)
				notRun("%s", res.Note)
			case p.loopKeys == nil:
				res.Status = LoopKeysUnknown
				res.Note = fmt.Sprintf("loop log of %s: agency signatures and keys not checked (no copy of its member's ledger verified against its anchors without failure)", res.Member)
			default:
				res.Status, res.Note = LoopChecked, "every entry verified: signature, key in the member's ledger keyring, schema"
			}
		}
		status[res.Member] = res.Status
		r.LoopLogs = append(r.LoopLogs, res)
	}
	for i := range r.Loop.Members {
		r.Loop.Members[i].LoopLog = status[r.Loop.Members[i].Member]
	}
}

// loopCounts counts, per loop log, the sanction notices and feedback the
// closed loop took from it.
func (fs *factSet) loopCounts() map[string][2]int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := map[string][2]int{}
	for k := range fs.notices {
		if trust.IsLoopOrigin(k.origin) {
			c := out[k.origin]
			c[0]++
			out[k.origin] = c
		}
	}
	for _, f := range fs.feedback {
		if trust.IsLoopOrigin(f.origin) {
			c := out[f.origin]
			c[1]++
			out[f.origin] = c
		}
	}
	return out
}
