package node

import (
	"github.com/creditx/creditx/internal/access"
	"github.com/creditx/creditx/internal/admission"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
)

// Admission of submitted records, of commands a replica forwards to the
// leader and the FSM's last check of an entry are package
// internal/admission; this file builds its Checker over the node.

type (
	// statusFieldError is one problem of a submission with its HTTP status.
	statusFieldError = admission.Problem
	// entryRefusedError is an entry the FSM refused at apply time
	// (admission.Checker.CheckEntry); nothing of its command was appended.
	entryRefusedError = admission.EntryRefusedError
)

// newAdmitter builds the admission checker reading n. It holds no state
// of its own, so one serves every request and the FSM (which checks every
// entry it appends through it). It hands each accepted parse to ix, the
// indexer, for the FSM to take instead of parsing again: New builds it
// right after the indexer and before raft opens, and a nil ix panics, so
// that building it earlier fails at start rather than silently dropping
// the hand-over.
func newAdmitter(n *Node, ix *indexer) *admission.Checker {
	if ix == nil {
		panic("node: admission checker built before the indexer")
	}
	h := admissionHost{n}
	return admission.New(admission.Config{Region: n.cfg.Region, Origin: n.origin, Access: n.access,
		Store: h, Sanctions: h, Governance: h, Logs: h, Validator: n.validate,
		CheckAccess: access.Check, Logger: n.logger, Admitted: ix.Admitted})
}

// admitter is the checker New built (newAdmitter). Using it before then
// is a bug of New's order and panics.
func (n *Node) admitter() *admission.Checker {
	if n.admit == nil {
		panic("node: admission used before New built it (newAdmitter)")
	}
	return n.admit
}

// admitBatch checks every record of a submission by id
// (admission.Checker.Batch); nil admits the batch.
func (n *Node) admitBatch(id pki.Identity, entries [][]byte) *apiError {
	return n.admitter().Batch(id, entries)
}

// checkEntryKey is the FSM's last check of an entry (fsmHooks.CheckEntry).
func (n *Node) checkEntryKey(origin string, index uint64, e []byte) error {
	return n.admitter().CheckEntry(origin, index, e)
}

// regionOp says whether op is one of the region's own state commands (the
// vault ops 6-8 and token revocation, op 9): forwarded as they are and
// answered with a regionAnswer (handleApply, propose.go), not with receipts.
func regionOp(op byte) bool {
	return op == opVaultPut || op == opVaultErase || op == opVaultRotate || op == opTokenRevoke
}

// admitForwarded checks a command a replica forwarded; nil admits it
// (admission.Checker.Forwarded: the leader never trusts a replica for
// content, issue 11 item 4).
func (n *Node) admitForwarded(c command) *apiError {
	return n.admitter().Forwarded(c.op, regionOp(c.op), c.op == opAppend, c.origin, c.entries)
}

// refusedError is a submission refused after admission, by the FSM of this
// replica or of the leader it forwarded to: an answer for the client
// (403), not a failure to commit, so it is not retried.
type refusedError struct {
	ae *apiError
}

func (e *refusedError) Error() string { return e.ae.Error }

func refusedAtApply(e *entryRefusedError) *refusedError {
	return &refusedError{admission.RefusedAtApply(e)}
}

// admissionHost is what package admission reads of the node.
type admissionHost struct{ n *Node }

func (h admissionHost) View(fn func(tx *ledger.ReadTx) error) error { return h.n.fsm.view(fn) }
func (h admissionHost) Keyring() *schemas.Keyring                   { return h.n.keyring.Load() }
func (h admissionHost) Engine() *sanctions.Engine                   { return h.n.sanctions.engine }
func (h admissionHost) EngineIn(tx *ledger.ReadTx) *sanctions.Engine {
	return h.n.engineOf(tx.Bucket(bucketCatalogues)) // adopted.go
}
func (h admissionHost) CheckCatalogueAdopt(a *schemas.CatalogueAdopt) (string, string) {
	return h.n.checkCatalogueAdopt(a)
}
func (h admissionHost) CheckCalendarAdopt(a *schemas.CalendarAdopt) (string, string) {
	return h.n.checkCalendarAdopt(a)
}
func (h admissionHost) CheckManifestPropose(p *schemas.ManifestPropose) (string, string) {
	return h.n.checkManifestPropose(p) // membership.go
}
func (h admissionHost) LoopOrigin() string                        { return h.n.loopOrigin() }
func (h admissionHost) RecordLog(rec schemas.Record) string       { return h.n.recordLog(rec) }
func (h admissionHost) CheckLoopEntry(e []byte) error             { return h.n.checkLoopEntry(e) }
func (h admissionHost) SubmitLog(es [][]byte) (string, *apiError) { return h.n.submitLog(es) }
