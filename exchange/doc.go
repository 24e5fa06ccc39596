// Package exchange is the inter-member layer of creditx: the consortium
// manifest, the C2SP tlog-witness add-checkpoint wire format and its
// tlog-cosignature/v1 cosignatures, the HTTP/3 (QUIC) client a member uses to
// reach the other members' nodes with mutual TLS, the incremental Merkle
// frontier a mirror uses to verify fetched entries against a checkpoint, the
// per-entry checks of a mirrored entry (EntryVerifier), which members take
// part given the governance approvals (Manifest.Effective), and the alert
// evidence format. See DESIGN.md for how package node uses them.
//
// It holds no state of its own: the node (package node) keeps everything a
// member decides in its raft-replicated ledger.db and drives the loops.
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
//
// How it fails: bad input returns an error naming the field and why
// (*ManifestError, *EntryError, *PolicyError, *ConflictError for a
// witness's 409) and changes nothing.
package exchange
