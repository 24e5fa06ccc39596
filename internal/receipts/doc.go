// Package receipts builds the answers of a write to this region's ledger
// beyond the plain per-record receipt: the compact batch path of
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
// the caller to answer.
package receipts
