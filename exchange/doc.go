// Package exchange is the inter-member layer of creditx: the consortium
// manifest, the C2SP tlog-witness add-checkpoint wire format and its
// tlog-cosignature/v1 cosignatures, the HTTP/3 (QUIC) client a member uses to
// reach the other members' nodes with mutual TLS, the incremental Merkle
// frontier a mirror uses to verify fetched entries against a checkpoint, the
// per-entry checks of a mirrored entry (EntryVerifier), which members take
// part given the governance approvals (Manifest.Effective), and the alert
// evidence format; and the runtime that uses them (Runtime): the push loop
// that has the member's checkpoints witnessed, the witness decision, the
// mirror loops, and the apply functions of the exchange's raft ops
// (ApplyMirrorAppend, ApplyWitness, ApplyCosigned, ApplyAlert). See DESIGN.md.
//
// The runtime holds no durable state of its own: it runs on a Host (package
// node's replica) that views the replica's ledger.db and proposes commands
// through raft; everything a member decides is such a command, applied by
// the functions of apply.go inside the FSM's transaction on every replica,
// and what the runtime keeps in memory is a cache rebuilt from ledger.db.
//
// Guarantees:
//
//   - ParseManifest accepts only a complete, consistent manifest (every key
//     parses and is named for its member, every CA is a creditx region CA of
//     that member, codes and endpoints are unique) and never panics
//     (FuzzParseManifest).
//   - ParseAddCheckpoint, DecodeFrontier and DecodeEvidence are strict
//     inverses of their encoders and never panic (fuzz targets of the same
//     names). ParsePolicy accepts only C2SP tlog-policy text and never panics
//     (FuzzParsePolicy, TestParsePolicyErrors quoting each rule).
//   - A witness vkey (ParseWitnessVKey) carries the key ID of its
//     cosignature lines, as signed-note requires; GenerateWitnessKey
//     publishes type 0x04 (TestWitnessVKeyMatchesCosignatureLines).
//   - Manifest.Witnessed judges a member's checkpoint by the witness_policy
//     when set (the member's own witness never counts), else by
//     witness_quorum other members (TestManifestWitnessPolicy).
//   - EntryVerifier.CheckBatch accepts and refuses exactly what Check does
//     in order, naming the same first failing index (TestCheckBatchMatchesCheck).
//   - Manifest.Effective is deterministic for a manifest and a set of
//     approvals, so members converge on the same membership (TestEffective).
//   - Frontier.Root of a frontier extended leaf by leaf equals the RFC 6962
//     tree hash of those leaves (TestFrontierMatchesTlog), so a mirror that
//     checks Root against a verified checkpoint has verified the inclusion of
//     every fetched entry and its own prefix at once.
//   - An apply function either writes all of a command's effects in the
//     caller's transaction or refuses it (Result.Refused, a *Refusal) and
//     writes nothing; a returned error is a storage failure only.
//   - The witness cosigns a checkpoint only after OpWitness recorded it
//     through the host (so a new leader never cosigns another root at that
//     size), and a mirrored entry is appended only after its batch verified
//     against the checkpoint's root (TestExchangeCatchesEquivocation in
//     package node, and the fault tests over a fake host in this package).
//
// How it fails: bad input returns an error naming the field and why
// (*ManifestError, *EntryError, *PolicyError, *ConflictError for a
// witness's 409) and changes nothing. A read of the host that fails is
// reported, never taken as an empty state (TestReadErrorsAreNotDropped).
package exchange
