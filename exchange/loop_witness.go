package exchange

import (
	"fmt"

	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
)

// Witnessing the loop log (issue 20, DESIGN.md "Per-kind replication").
//
// A member whose manifest entry has a loop_vkey has its loop log,
// creditx.<code>/loop, witnessed exactly as its ledger: its leader pushes
// its latest loop checkpoint to the same witnesses in the same rendezvous
// order (pushLoop over an ownLog; at most every loopPushEvery, pushPacing),
// each witness checks it against the
// member's loop key and against the last loop checkpoint it cosigned (the
// witness bucket is keyed by origin, so the ledger's state and the loop
// log's are separate), and the leader stores the note with a quorum of
// cosignatures through raft (OpCosigned, keyed by the loop origin), which
// /loop/<code>/checkpoint then serves. A member without a loop_vkey (every
// member that joined by governance, whose member_approve carries no loop
// key) has no witnessed loop log: its loop checkpoints are refused as an
// unknown origin (404) and it pushes none.

// ownLog is a log this member signs and has witnessed: its ledger, or its
// loop log.
type ownLog struct {
	origin string
	signer note.Signer
	v      note.Verifier
	// kick wakes the log's push loop (buffered 1; Applied).
	kick chan struct{}
}

// ledgerLog is this member's ledger as an ownLog.
func (x *Runtime) ledgerLog() ownLog {
	return ownLog{origin: x.origin, signer: x.cfg.LogSigner, v: x.cfg.LogVerifier, kick: x.pushKick}
}

// LoopOrigin is this member's witnessed loop log, or "" (none: the loop log
// is off, or the manifest gives this member no loop_vkey).
func (x *Runtime) LoopOrigin() string {
	if x.loop == nil {
		return ""
	}
	return x.loop.origin
}

// OwnLoopStatus is this member's witnessed loop log in GET /v1/exchange.
type OwnLoopStatus struct {
	Origin    string `json:"origin"`
	Size      uint64 `json:"size"`
	Witnessed uint64 `json:"witnessed"` // size stored with a quorum of cosignatures
}

// ownLoopStatus is nil unless this member's loop log is witnessed.
func (x *Runtime) ownLoopStatus() (*OwnLoopStatus, error) {
	if x.loop == nil {
		return nil, nil
	}
	s := &OwnLoopStatus{Origin: x.loop.origin}
	var err error
	s.Size, s.Witnessed, err = x.ownStateOf(x.loop.origin)
	return s, err
}

// ownLoopLog is the loop log of cfg as an ownLog when it is witnessed:
// nil when the node writes none (no LoopSigner) or the manifest has no
// loop_vkey for self; an error when the manifest's key is not the node's.
func ownLoopLog(cfg Config, self *Member) (*ownLog, error) {
	if cfg.LoopSigner == nil || cfg.LoopVerifier == nil {
		return nil, nil
	}
	mv := self.LoopVerifier()
	if mv == nil {
		cfg.Logger.Warn("the manifest gives this member no loop_vkey: its loop log is not witnessed, followed or mirrored", "member", self.Code)
		return nil, nil
	}
	if mv.KeyHash() != cfg.LoopVerifier.KeyHash() || mv.Name() != cfg.LoopVerifier.Name() {
		return nil, fmt.Errorf("exchange: the manifest's loop_vkey for %s is not this node's loop key", self.Code)
	}
	return &ownLog{origin: self.LoopOrigin(), signer: cfg.LoopSigner, v: cfg.LoopVerifier, kick: make(chan struct{}, 1)}, nil
}

// LogOf is the member whose log origin is and that log's key: its ledger
// (log_vkey) or, if it has a loop_vkey, its loop log.
func (m *Manifest) LogOf(origin string) (*Member, note.Verifier, bool) {
	code, name, err := schemas.ParseOrigin(origin)
	if err != nil {
		return nil, nil, false
	}
	mb, ok := m.Member(code)
	if !ok {
		return nil, nil, false
	}
	switch name {
	case schemas.OriginLedger:
		return mb, mb.LogVerifier(), true
	case schemas.OriginLoop:
		if v := mb.LoopVerifier(); v != nil {
			return mb, v, true
		}
	}
	return nil, nil, false
}

// WitnessedLog is Witnessed for any member log (LogOf): the ledger's
// or the loop log's signature, and the same witnesses and quorum.
func (m *Manifest) WitnessedLog(origin string, signed []byte) (cosigners []string, ok bool, err error) {
	mb, v, found := m.LogOf(origin)
	if !found {
		return nil, false, fmt.Errorf("manifest: no member log %q", origin)
	}
	return m.witnessedBy(mb.Code, v, signed)
}
