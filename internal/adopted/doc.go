// Package adopted is the governance adopted on the ledger (issue 12): the
// working-day calendar years (calendar_adopt) and the measures-catalogue
// versions (catalogue_adopt) that anchor-signed governance records put in
// force, in this region's own ledger or a mirrored member's, and the
// feedback deadlines of notices recomputed when a year is adopted.
//
// It owns four ledger.db buckets and their layout (calendars, catalogues,
// notice-provisional, notice-due): the FSM of package node calls the Apply
// functions inside its apply transaction, the views read them in a read
// transaction. Changing a bucket's name or layout breaks existing data
// directories.
//
// # Guarantees
//
//   - Determinism: what is applied depends only on the ledgers, the
//     buckets, the known catalogues and the raft time passed in (never a
//     clock), so every replica applying the same raft log records the same
//     adoptions, refusals and corrections at the same entry.
//   - An adoption that does not fit (an unknown catalogue, a calendar year
//     with a gap or already covered, a record that is not one) is recorded
//     as refused, never applied, and never fails the transaction; only a
//     storage error is returned (and then the FSM's transaction fails as a
//     whole).
//   - The signed notices are never rewritten: a recomputed deadline is a
//     correction beside the notice (notice-due), shown by the views.
//
// # Failures
//
// A bucket whose values do not decode is reported by the State functions
// and by [CalendarCache.InForce] with the key; the node's views then count
// under the embedded calendar or the initial catalogue and say so in the
// log.
package adopted
