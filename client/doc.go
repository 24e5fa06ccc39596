// Package client is the caller's side of a region node's HTTPS API: the
// credentials an agency, admin or auditor holds (client certificate, record
// signing key, matching key; LoadCredentials), the calls it makes with them
// (Submit, SubmitWitnessed, HashIDs, Get/Post/Put/Delete) and the records an
// office signs with them to register an agency's key (RegistrationRecord).
// It owns reading and writing credentials directories and nothing of the
// replica: the bodies it sends and decodes are package api's.
//
// Guarantees: a non-200 answer is returned as a *SubmitError carrying the
// status and the node's field errors, never decoded as a success; answers
// are read up to 64 MiB; every call is bounded by its context. A signing key
// is written 0600 (WriteSignKey).
//
// It imports api, ledger (to check a batch receipt: BatchReceipts), pki and
// schemas only, so tools can talk to a node without linking the replica.
package client
