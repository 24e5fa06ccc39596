// Package vaultops serves the personal-data vault of a region (issue 14,
// docs/PRIVACY.md): the HTTP endpoints that store, open and erase the data
// keys of a record's sealed persons, and rotate the region's vault key.
//
//	PUT    /v1/vault/{code}/{index}   (role publish: the record's submitter)
//	GET    /v1/vault/{code}/{index}   (submitter, or admin of the region; ?purpose=)
//	DELETE /v1/vault/{code}/{index}   (admin of the region; ?reason=<code>[: text])
//	POST   /v1/vault/rotate           (admin of the region; no body)
//
// Package vault owns the keys, the wrapping, the ratchet and the ledger.db
// bucket; the FSM of package node applies the raft ops (vault-put 6,
// vault-erase 7, vault-rotate 8) through package vault. This package owns
// what lies in front of raft: who may ask, what a request must hold, the
// access-log entry written before anything is done or shown, and the
// answers. It writes to ledger.db only through [Node.Propose] and
// [Node.LogAccess], so every replica stores the same.
//
// # Guarantees
//
//   - A data key is stored only for a sealed person of the record it names,
//     only if it opens that person, and only at the submitter's request; a
//     stored key is never replaced (409, [Refusal]).
//   - Plaintext is sent only after the read is durable in the access log;
//     an erasure or rotation is logged before it is proposed. A crash after
//     the log entry and before the proposal leaves a requested erasure or
//     rotation that did not happen; the caller's retry (both idempotent)
//     completes it.
//   - Erasure needs no vault key (it works on a replica whose vault is
//     disabled); put and get answer 503 where it is disabled.
//
// # Rotation
//
// The credit office moves the region's vault key one epoch on, the same way
// an erasure does (package vault), without erasing anything: raft op 8
// carries the epoch rotated from; every replica's FSM re-wraps every live
// wrapped key under K(e+1) = HMAC(K(e), label) in one transaction and
// stores the epoch, then replaces keys/vault.key (temporary file, fsync,
// rename, directory fsync). K(e) is then on no replica's disk, and it
// cannot be derived from K(e+1): a copy of the old key file (a backup, a
// departed operator's) opens nothing in ledger.db any more, nor any key
// stored after the rotation.
//
// Idempotent: a command whose epoch is behind the stored one (a retry after
// the answer was lost, or a concurrent rotation or erasure moved the key
// first) changes nothing and answers the current epoch, which is past the
// one the caller wanted retired. A crash between the commit and the rename
// is finished at the next start (node's syncVaultEpoch), as for erasures.
//
// What rotation does not reach: wrapped keys in the raft log's entries and
// in freed pages (stored before the rotation, under K(e)); they open only
// with K(e), which is gone unless someone copied it. Rotation is for
// retiring a key that may have been copied only together with a later
// compaction of the raft log (snapshot_threshold, trailing_logs).
//
// # Failures
//
// Every failure is answered as JSON (api.ErrorBody): 400/422 for a bad
// request (nothing stored), 401/403 for the wrong caller, 404 for an
// unknown record or no stored key, 410 for an erased record, 503 when the
// vault is disabled, the access log could not be written, or the command
// was not committed (safe to retry), 500 when a stored key no longer opens
// its person.
package vaultops
