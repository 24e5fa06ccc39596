// Package admission decides whether signed records may be written to this
// region's ledger: the checks a submission passes before it is proposed
// (POST /v1/records, a credit-office record the node writes itself, a
// command a replica forwarded to the leader) and the FSM's last check of
// an entry at apply time.
//
// Package node keeps the glue: it builds a [Checker] over its committed
// state ([Store]: a read transaction of ledger.db and the keyring in
// force), the sanctions engines ([Sanctions]), the governance checks other
// parts of the node own ([Governance]) and the loop-log rules ([Logs]),
// and its HTTP handlers call [Checker.Batch] and [Checker.Forwarded]. This
// package does not import package node and writes nothing: it owns no
// bucket and reads ledger.db only through [Store.View].
//
// # Guarantees
//
//   - A batch is admitted only if every record passes (a refused batch
//     writes nothing). The checks, in order: size, envelope and canonical
//     form, record schema, the caller's role may submit the kind
//     ([KindsByRole]), the signing key is registered, not revoked and the
//     caller's, the signature (strict Ed25519, never batch verification:
//     see [Checker.Batch]), region and submitter, the caller's domains,
//     field validation, personal data in plaintext, the loop rules of
//     issue 12 (programme, repair authority, catalogue and calendar
//     adoption, manifest proposals), references to existing entries with
//     the stated hash, and the owner table (sanctions.CheckOwner) and
//     keyring rules of governance records.
//   - The answer is an api.ErrorBody listing every problem, each an
//     api.FieldError naming the record and field; the most specific status
//     wins: 400 malformed, 413 too large, 403 not allowed, 422 invalid
//     content (see [Problem]).
//   - A replica certificate can append nothing a client could not: a
//     forwarded command passes the same admission on the leader, under the
//     identity of the record's signing key ([Checker.Forwarded]).
//   - The FSM refuses, at the index an entry gets, a signing key that is
//     no longer valid and a governance record the keyring refuses
//     ([Checker.CheckEntry], [EntryRefusedError]), so the ledger never
//     holds an entry every mirror and auditor must reject (deploy
//     TestDrillRevocationRace). Every replica decides alike: the keyring is
//     rebuilt from the ledger in order.
//
// # Failures
//
// A failed read of ledger.db is not the record's fault: it is a 500
// problem (rule "read"), logged, and nothing is written; the caller may
// retry (node TestReadErrorsAreNotDropped).
package admission
