// Package receipts builds the answers of a write to this region's ledger:
// the per-record receipts of an applied append ([Build]: origin, index,
// leaf hash, the signed checkpoint the append was covered by and the
// inclusion proof against it, as base64 hashes and as one C2SP-style proof,
// ledger.FormatProof), the compact batch path of
// POST /v1/records (NDJSON bodies and one range proof per request, issue
// 21) and witnessed receipts (?witnessed=1 and GET /v1/proof, docs/API.md).
//
// Package node keeps the handlers and commits the records (raft); it
// hands this package the committed state ([Store]) and the consortium
// manifest ([Manifest], exchange.Manifest). This package does not import
// package node, owns no bucket and writes nothing.
//
// # Guarantees
//
//   - Every per-record proof verifies against the checkpoint of its
//     receipt: both are read in the one read transaction the caller gives,
//     at the tree size the append reported. A resubmitted entry (the FSM
//     kept the first index of an entry, or of a re-signed record,
//     internal/dedupe) gets the first copy's receipt: its index and the
//     leaf hash of the bytes stored there, marked Duplicate.
//   - Every answer keeps the guarantees of the JSON path: it is built only
//     from committed state, after the records are durable on a raft quorum,
//     and every record can still be proved on its own: api.BatchReceipts
//     rebuilds per-record receipts in the form the JSON path answers, so
//     "creditx verify-receipt" works unchanged on them.
//   - A witnessed receipt is against a checkpoint carrying the manifest's
//     witness quorum and verifies with exchange.Manifest.VerifyReceipt
//     (node TestWitnessedReceipt).
//   - [SplitNDJSON] never panics and returns the non-empty lines of its
//     input, in order (FuzzSplitNDJSON).
//
// # Failures
//
// Bad request options are a 400 (api.ErrorBody) before anything is
// written. A witnessed submission that times out answers 504 naming what
// it waited for; its records stay committed and GET /v1/proof gives their
// receipts later. A failed read of ledger.db is returned as an error for
// the caller to answer; [Build] returns no partial list of receipts then
// (node answers 503 "not committed, safe to retry").
package receipts
