package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/creditx/creditx/schemas"
)

// Loop logs (issue 20, internal/notices/loop.go): with sanctions.loop_log a
// member writes its sanction notices and their feedback to a second log,
// creditx.<code>/loop, signed with its loop key. The audit treats a loop
// copy as it treats a ledger copy (checkpoint signature by the trusted loop
// key, cosignatures, Merkle tree, consistency and identity between copies)
// and checks every entry of its largest copy as the node's FSM did
// (notices.CheckLoopEntry): a signed sanction notice or feedback, schema-
// valid, signed by a key of the member's keyring (an anchor of its ledger
// or an agency key registered by a verified governance record of its
// ledger) that verifies the signature, whose agency is the record's
// submitter. The keyring is the one of the member's ledger as audited, so
// loop copies are checked after the ledgers.
//
// What cannot be checked: a loop entry does not record the ledger size at
// its append, so "the key was valid then" is judged by time. A key revoked
// by a ledger record created at or before the loop entry's created_at makes
// the entry fail; an entry backdated before the revocation by the holder of
// the revoked key is not caught. The report says so (Report.Checked).
//
// A loop checkpoint whose cosignatures do not meet the quorum is reported as
// not witnessed (Report.LoopLogs, Report.NotChecked), which keeps the verdict
// from PASSED, but is not an integrity failure: loop logs may not be
// witnessed by the exchange at all. A cosignature that does not verify is a
// failure, as for a ledger.

// isLoopOrigin says whether origin is a member's loop log.
func isLoopOrigin(origin string) bool {
	_, name, err := schemas.ParseOrigin(origin)
	return err == nil && name == schemas.OriginLoop
}

// govRec is a governance record of a verified ledger, in ledger order, as
// the loop check needs it.
type govRec struct {
	index   uint64
	keyID   string // signer
	created time.Time
	g       *schemas.Governance
}

// loopKey is a key of a member's keyring as the loop check sees it.
type loopKey struct {
	pub        ed25519.PublicKey
	name, uscc string
	anchor     bool
	revoked    bool
	revIndex   uint64    // ledger index of the revoking record
	revCreated time.Time // its created_at
}

// loopKeyring builds the keyring of member code from its trusted anchors
// and the governance records of its verified ledger.
func loopKeyring(anchors []loopAnchor, gov []govRec) map[string]*loopKey {
	keys := map[string]*loopKey{}
	for _, a := range anchors {
		keys[schemas.KeyID(a.pub)] = &loopKey{pub: a.pub, name: a.name, uscc: a.uscc, anchor: true}
	}
	for _, r := range gov {
		switch r.g.Action {
		case schemas.ActionAgencyKeyRegister:
			reg := r.g.AgencyKeyRegister
			if reg == nil {
				continue
			}
			pub, err := base64.StdEncoding.Strict().DecodeString(reg.PublicKey)
			if err != nil || len(pub) != ed25519.PublicKeySize {
				continue // the ledger's check refused it already
			}
			keys[reg.KeyID] = &loopKey{pub: pub, name: reg.Agency.Name, uscc: reg.Agency.USCC}
		case schemas.ActionAgencyKeyRevoke:
			if rv := r.g.AgencyKeyRevoke; rv != nil {
				if k := keys[rv.KeyID]; k != nil && !k.revoked {
					k.revoked, k.revIndex, k.revCreated = true, r.index, r.created
				}
			}
		}
	}
	return keys
}

// loopKeyring is the keyring a loop copy's entries are checked with: the
// anchors of its member's ledger and the governance records of the
// ledger's verified primary; nil when no copy of that ledger was verified
// with record checks, or its anchors do not decode.
func (a *auditor) loopKeyring(s *copyState) map[string]*loopKey {
	p := a.primaries[schemas.LedgerOrigin(codeOf(s.Origin))]
	if p == nil || !p.res.Full || len(s.trusted.Anchors) == 0 {
		return nil
	}
	anchors, err := s.loopAnchors()
	if err != nil {
		return nil
	}
	return loopKeyring(anchors, p.gov)
}

// loopCheck is the entry check of a loop copy: loopEntryCheck with the
// member's keyring, or, when it is not known, the schema and the kind only
// (with a warning; the coverage names it).
func (s *copyState) loopCheck(warn func(string, ...any)) func(uint64, []byte) error {
	if s.loopKeys != nil {
		lc := loopEntryCheck(s.loopKeys, schemas.NewValidator(nil))
		return func(i uint64, e []byte) error { _, err := lc(i, e); return err }
	}
	warn("%s: the keyring of its member's ledger is not known (no copy of the ledger verified with its anchors): agency signatures and key validity NOT checked, schema only", s.Origin)
	v := schemas.NewValidator(nil)
	return func(_ uint64, e []byte) error {
		sg, err := schemas.ParseSigned(e)
		if err != nil {
			return err
		}
		r, err := sg.Decode()
		if err != nil {
			return err
		}
		if kind := r.Kind(); kind != "sanction_notice" && kind != "feedback" {
			return fmt.Errorf("loop log: a %s is not written to the loop log, only sanction notices and feedback", kind)
		}
		return v.Validate(r)
	}
}

type loopAnchor struct {
	pub        ed25519.PublicKey
	name, uscc string
}

// loopAnchors decodes the anchors of a member's trusted ledger origin.
func (s *copyState) loopAnchors() ([]loopAnchor, error) {
	var out []loopAnchor
	for i, a := range s.trusted.Anchors {
		pub, err := base64.StdEncoding.DecodeString(a.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("anchors[%d]: not a base64 Ed25519 key", i)
		}
		out = append(out, loopAnchor{pub, a.Name, a.USCC})
	}
	return out, nil
}

// loopEntryCheck returns the check of one loop entry against keys (the
// member's keyring); v validates records.
func loopEntryCheck(keys map[string]*loopKey, v *schemas.Validator) func(uint64, []byte) (schemas.Record, error) {
	return func(_ uint64, e []byte) (schemas.Record, error) {
		sg, err := schemas.ParseSigned(e)
		if err != nil {
			return nil, fmt.Errorf("loop log: not a signed record: %w", err)
		}
		k := keys[sg.KeyID]
		if k == nil {
			return nil, fmt.Errorf("signing key %s: not in the keyring of the member's ledger: %w", sg.KeyID, schemas.ErrUnknownKey)
		}
		if err := sg.Verify(k.pub); err != nil {
			return nil, fmt.Errorf("signature by key %s (%s): %w", sg.KeyID, k.name, err)
		}
		r, err := sg.Decode()
		if err != nil {
			return nil, err
		}
		if kind := r.Kind(); kind != "sanction_notice" && kind != "feedback" {
			return nil, fmt.Errorf("loop log: a %s is not written to the loop log, only sanction notices and feedback", kind)
		}
		if err := v.Validate(r); err != nil {
			return nil, fmt.Errorf("invalid %s: %w", r.SchemaID(), err)
		}
		h := schemas.HeaderOf(r)
		if h.Submitter != k.uscc {
			return nil, fmt.Errorf("record names submitter %s but is signed with key %s of %s", h.Submitter, sg.KeyID, k.uscc)
		}
		if k.revoked && !h.CreatedAt.Time.Before(k.revCreated) {
			return nil, fmt.Errorf("signing key %s revoked by the member's ledger entry %d (created %s), not after this record's created_at %s: %w",
				sg.KeyID, k.revIndex, k.revCreated.UTC().Format(time.RFC3339), h.CreatedAt.Time.UTC().Format(time.RFC3339), schemas.ErrRevokedKey)
		}
		return r, nil
	}
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
			if isLoopOrigin(o.Origin) {
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
		if isLoopOrigin(o) && !declared[o] {
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
				res.Note = fmt.Sprintf("loop log of %s: agency signatures and keys not checked (no copy of its member's ledger verified with independent anchors)", res.Member)
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
		if isLoopOrigin(k.origin) {
			c := out[k.origin]
			c[0]++
			out[k.origin] = c
		}
	}
	for _, f := range fs.feedback {
		if isLoopOrigin(f.origin) {
			c := out[f.origin]
			c[1]++
			out[f.origin] = c
		}
	}
	return out
}
