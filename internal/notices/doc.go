// Package notices owns this member's sanction notices (joint punishment):
// the engines and signer they are issued with ([Load]), their issuance on
// the leader ([Service.Run]), their views with feedback and state
// ([Service.List], [Service.Page]: the agency inbox GET /v1/notices), the
// opaque cursors of the node's feeds ([EncodeCursor], [DecodeCursor]), the
// loop-log rules that say which log a notice or feedback is written to
// ([Logs], [CheckLoopEntry]) and the listings this member applies no
// measure of ([MarkNotApplied], [ListNotApplied]).
//
// Package node keeps the glue: it builds a [Service] over a [Host] (view
// the store, commit entries, leadership, the index reads the views need),
// hands internal/index the notice buckets to fill in the FSM and registers
// the HTTP handlers. This package does not import package node.
//
// # Guarantees
//
// Issuance is leader-only, idempotent and crash-safe. The FSM queues every
// indexed listing (notice-queue) with the raft time at which it was indexed
// and the catalogue then in force; the leader computes each listing's
// notices from that time and catalogue only, so every leader computes the
// same records, and a resubmission after a leader change or a crash is
// deduplicated by the ledger. The queue entry is removed by the FSM when
// it indexes the first own notice on the listing, in the same transaction.
// Listings the engine declines are skipped by the leader (a leader-local
// set) and logged.
//
// The inbox: reading with since= the "next" of the previous answer, over
// and over, returns every notice addressed to the agency exactly once, in
// log order, however notices are issued meanwhile (see [Service.Page]).
//
// # Buckets
//
// It owns three ledger.db buckets (written by the FSM's indexer in the
// same transaction as the entries; changing a name or layout breaks
// existing data directories):
//
//	notice-queue:  origin || 0x00 || uint64 BE index -> uint64 BE unix nanos (raft time it was indexed)
//	               [|| 32-byte catalogue digest]; listings for which this member has not yet issued notices
//	notices:       agency USCC || 0x00 || origin || 0x00 || uint64 BE index -> ""  (own notices by agency)
//	not-applied:   origin || 0x00 || uint64 BE index -> reason (UTF-8)
//
// # Failures
//
// Errors of the store and of committing are returned wrapped; the issuer
// logs them at WARN and retries at the next tick. An entry that is not a
// sanction notice is left out of the views; a cursor this node did not make
// is an error wrapping [ErrBadCursor].
package notices

// Bucket names (see the package doc for their layouts).
const (
	BucketNoticeQueue = "notice-queue"
	BucketNotices     = "notices"
	BucketNotApplied  = "not-applied"
)
