// Package ledger is an append-only Merkle log store: any number of logs, each
// named by its checkpoint origin (for example "creditx.330000/ledger"), kept in
// one bbolt file together with caller-owned index buckets.
//
// # Guarantees
//
//   - Entries are opaque byte strings of 1..[MaxEntrySize] bytes. Entry i of a
//     log never changes once [Store.Update] has returned nil for the
//     transaction that appended it, and that return happens only after the
//     transaction is fsync'd (unless [Options.NoSync], which is for tests).
//   - Everything one [Store.Update] writes (entries of every log, hash tiles,
//     checkpoints, caller buckets from [Tx.Bucket]) becomes durable together or
//     not at all. If the function passed to Update returns an error, or any
//     write inside it failed, nothing is written.
//   - Hashing is RFC 6962 (leaf = SHA-256(0x00||entry), node =
//     SHA-256(0x01||left||right)). Merkle hashing and proofs come from
//     golang.org/x/mod/sumdb/tlog and github.com/transparency-dev/merkle; this
//     package only stores their inputs and outputs. Proofs verify with
//     tlog.CheckRecord/CheckTree and transparency-dev proof.VerifyInclusion/
//     VerifyConsistency unchanged (TestProofsExhaustive). The one proof of
//     this package's own, the range proof of a batch (rangeproof.go:
//     ProveRange, RangeInclusionProofs), rebuilds for each leaf of the range
//     exactly the path tlog.ProveRecord gives (TestRangeProofExhaustive).
//   - Checkpoints are C2SP tlog-checkpoint bodies in C2SP signed notes
//     (Ed25519, golang.org/x/mod/sumdb/note). A checkpoint is stored only after
//     its signature, origin, size and root hash were checked against the log.
//   - Hash tiles and entry bundles follow C2SP tlog-tiles byte for byte; an
//     exported tree is readable by x/mod's tlog.TileHashReader
//     (TestInteropTileHashReader).
//
// # Failure
//
// Bad input (empty or oversized entries, a checkpoint with a bad signature,
// wrong origin, size beyond the tree, or a root that does not match) returns a
// specific error and writes nothing. [Open] refuses a file whose per-log
// metadata does not match its hash tiles ([CorruptError]). [Verify] and
// [VerifyStore] recompute everything from the entries and report the first
// failing entry or tile as a [*VerifyError]. Every read of an entry
// ([LogReader.Entry], [LogReader.EntryBundle]) compares it with its hash in
// tile 0 and refuses a damaged one with an error wrapping [ErrDamaged]; a
// damaged bbolt page, on which bbolt panics, is returned as a [*PageError]
// naming the page, never a crash. [ReadMetaPages] reports a damaged bbolt
// meta page, which bbolt silently answers by opening the previous commit.
// [Store.CheckLog] and [Store.CheckPages] are the start-up checks of a node.
// After an error from Update the
// store is still usable: bbolt rolled the transaction back. After an fsync
// error bbolt panics or returns the error from Update; the caller must treat
// the transaction as not written and may retry.
package ledger
