package audit

import (
	"errors"
	"fmt"

	"github.com/creditx/creditx/internal/trust"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// Key sources of a copy (CopyResult.KeySource): only KeyFromTrust counts
// toward a PASSED verdict.
const (
	KeyFromTrust    = "trust"
	KeyFromOwnTrust = "the audited data's own trust (not independent)"
	KeyFromTreeVKey = "tree vkey (not independent)"
)

// openCheckpoint verifies the copy's checkpoint with the log key (from the
// independent trust, else the data's own, else the vkey beside the tree)
// and its cosignatures against the auditor's witness keys and policy.
func (s *copyState) openCheckpoint(a *auditor) {
	f := Failure{Check: CheckCheckpoint, Origin: s.Origin, Holder: s.Holder, Index: -1}
	to, ok := a.in.Trust.lookup(s.Origin)
	s.res.KeySource = KeyFromTrust
	if !ok {
		to, ok = a.in.Own.lookup(s.Origin)
		s.res.KeySource = KeyFromOwnTrust
	}
	if !ok {
		if s.TreeVKey == "" {
			f.Reason = "no trusted log key for this origin"
			a.fail(f)
			s.failed = true
			return
		}
		to = trust.Origin{Origin: s.Origin, VKey: s.TreeVKey}
		s.res.KeySource = KeyFromTreeVKey
	} else if s.TreeVKey != "" && s.TreeVKey != to.VKey {
		f.Reason = "the vkey file beside the tree is not the trusted key"
		a.fail(f)
		s.failed = true // still verified with the trusted key below
	}
	if trust.IsLoopOrigin(s.Origin) && len(to.Anchors) == 0 {
		// A loop log's entries are signed by the keys of its member's
		// ledger: its anchors (the credit offices checkOwners knows) come
		// from the same trust as the loop key. Its entries are checked with
		// the keyring the ledger's own check left (loopcheck.go).
		t := a.in.Trust
		if s.res.KeySource != KeyFromTrust {
			t = a.in.Own
		}
		if lt, ok := t.lookup(schemas.LedgerOrigin(codeOf(s.Origin))); ok {
			to.Anchors = lt.Anchors
		}
	}
	s.trusted = to
	v, err := to.Verifier()
	if err != nil {
		f.Reason = "log key: " + err.Error()
		a.fail(f)
		s.failed = true
		return
	}
	s.logV = v
	cp, err := ledger.OpenCheckpoint(s.Checkpoint, s.Origin, v, a.witnesses...)
	if err != nil {
		var ise *note.InvalidSignatureError
		if errors.As(err, &ise) && ise.Name != v.Name() {
			f.Check = CheckCosignature
			f.Reason = fmt.Sprintf("cosignature by %s (key hash %08x) does not verify: forged or altered", ise.Name, ise.Hash)
		} else {
			f.Reason = err.Error()
		}
		a.fail(f)
		s.failed = true
		return
	}
	s.cp = cp
	own := schemas.WitnessOrigin(codeOf(s.Origin))
	for _, sig := range cp.Note.Sigs {
		for _, w := range a.witnesses {
			if sig.Name == w.Name() && sig.Hash == w.KeyHash() && sig.Name != own {
				s.res.Cosigners = append(s.res.Cosigners, sig.Name)
			}
		}
	}
	s.res.Witnessed = a.quorum == 0 || len(s.res.Cosigners) >= a.quorum
	if p := a.policy; p != nil {
		// The policy decides, not a count: its quorum over the cosigning
		// witnesses (policy names), the origin's own witness left out.
		exclude := map[string]bool{}
		for _, w := range p.Witnesses {
			if w.Verifier.Name() == own {
				exclude[w.Name] = true
			}
		}
		set := p.Cosigners(cp.Note, exclude)
		s.res.Cosigners = []string{}
		for _, w := range p.Witnesses {
			if set[w.Name] {
				s.res.Cosigners = append(s.res.Cosigners, w.Name)
			}
		}
		if s.res.Witnessed = p.Satisfied(set); !s.res.Witnessed && !trust.IsLoopOrigin(s.Origin) { // a loop log: named not witnessed (coverage)
			a.fail(Failure{Check: CheckCosignature, Origin: s.Origin, Holder: s.Holder, Index: -1,
				Reason: fmt.Sprintf("checkpoint of size %d: cosignatures by %v do not meet the witness policy's quorum %q", cp.Size, s.res.Cosigners, p.Quorum())})
			s.failed = true
		}
		return
	}
	if !s.res.Witnessed && !trust.IsLoopOrigin(s.Origin) { // a loop log: named not witnessed (coverage)
		a.fail(Failure{Check: CheckCosignature, Origin: s.Origin, Holder: s.Holder, Index: -1,
			Reason: fmt.Sprintf("checkpoint of size %d has %d valid cosignature(s) by other members %v, quorum is %d", cp.Size, len(s.res.Cosigners), s.res.Cosigners, a.quorum)})
		s.failed = true
	}
}
