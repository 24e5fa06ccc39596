// Package selfservice is the subject's door (issue 18): a listed
// organisation or person presents a subject token (package subjecttoken)
// and sees, across every ledger the node holds (its own region's and the
// mirrored members'), the listings indexed under its subject key, their
// state, the sanction notices addressed to it and the working-day deadlines
// of its objections (GET /v1/subject, the page /subject); it files an
// objection online (POST /v1/subject/objections, or the page's form). The
// package also owns the replicated revocation of subject tokens (POST
// /v1/subject/revoke, GET /v1/subject/revoked): the bucket and its
// encoding, the request's checks and the answers; the node keeps the raft
// command (op 9) and its apply (revoke.go).
//
// The node reaches it through [Door], built from the node's state for each
// request: a [Ledger] (read transactions, the subject index, a listing's
// history and the notices that reference it) and functions for what only
// the node can do (log a personal-data read, admit and commit a record,
// render a page). The package does not import package node.
//
// # Guarantees
//
//   - a token reads only listings indexed under its own subject key (as the
//     subject, or as a responsible person of a listed organisation), and
//     only the notices whose target is that key;
//   - records are shown masked: keyed hashes and sealed personal data are
//     removed (disclose.StripPersonal), a person's name and ID only in their
//     masked forms, so no personal plaintext leaves through this door;
//   - every answer that names a natural person (a person's own view, or an
//     organisation's listing naming its responsible persons) is logged in
//     the access log before it is sent, role "subject", purpose
//     "subject_access", like any other personal-data read ([Door].LogPersons);
//     nothing is sent if the log write fails;
//   - an objection is signed with the credit office's key (the sanctions
//     issuer key) on the subject's behalf, after the owner rule: its
//     subject_key is the token's, and must be a key of the listing. It then
//     passes the same admission as an objection the office submits
//     ([Door].Submit). Bad input is a 4xx with field errors and writes
//     nothing.
//
// The repair application of DOMAIN.md is not filed here: schemas.Repair
// requires the authority's decision, so a repair record is written by the
// authority; the subject sees the repair once it is in a ledger.
//
// # Failures
//
// A missing, malformed, expired or revoked token is 401; a node without the
// credit-office key answers 503 (it can neither check tokens nor file
// objections); a revocation list that cannot be read is 503 (a token is
// never accepted unchecked). Ledger read errors are answered through
// [Door].ReadError (404/500 without internals).
//
// The answers are the node's (TestSubjectSeesOwnRecordsOnly,
// TestSubjectObjection, TestSubjectRevokeReplicated and
// TestSubjectPageInChromium in package node).
package selfservice
