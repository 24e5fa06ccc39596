// Package access is the access log of personal-data reads and the daily
// lookup cap's place in it: who read which personal data, when and for what
// purpose, recorded durably before the data is sent.
//
// # The log
//
// Each read is one [Record], appended as canonical JSON to the region's
// access log (origin creditx.<region>/access), a Merkle log like the ledger,
// so an auditor can verify that no entry was removed or changed (GET
// /v1/access-log, [Log.ServeLog]). The entry is the encoding/json encoding
// of Record with its fields in declaration order and no insignificant space
// ([Encode]); [Check] is its parse side and accepts exactly what [Encode]
// writes (a replica forwarding an access entry to the leader is held to it).
// Adding a field is a new optional field with omitempty; renaming or
// reordering one changes the bytes of new entries and breaks [Check] for
// entries written by older replicas.
//
// # Guarantees
//
//   - Every read that is logged states a purpose from the catalogue
//     ([Purposes], [CheckPurpose]); a missing or unknown purpose is 400 and
//     nothing is read or charged.
//   - The *OrFail methods write the entry through the node's raft append
//     ([Config].Append) and return true only once it is committed; on
//     failure they write the error answer (400, 429 or 503) and return
//     false, and the caller sends nothing. No personal data is sent unless
//     its read is in the log.
//   - A read naming many persons is logged in entries of at most 200 keyed
//     hashes each, so an entry stays far below ledger.MaxEntrySize.
//   - A lookup that has plaintext citizen IDs hashed carries its charge in
//     its entry (Record.Lookup); the node's FSM charges it in the append's
//     transaction ([ChargeLookups], [PutLookupCharges]; package limits owns
//     the count and its bucket), so a spent cap refuses the entry and the
//     caller answers 429 with Retry-After until the cap resets.
//
// # Failures
//
// A log append that fails (no quorum, the context ends) is answered 503 and
// may be retried; a cap refused by the FSM, also through a follower, is 429.
//
// The node's tests prove the answers (TestLookupCapPersistsAndIsPurposeBound,
// TestFSMLookupCap, TestCheckAccessEntry in package node; this package's
// tests for the format and the catalogue).
package access
