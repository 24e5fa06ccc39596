// Package schemas defines the records of the creditx ledgers (listings,
// sanction notices, feedback, objections and their decisions, repairs,
// corrections, governance), their canonical byte encoding, their
// validation, the identifiers they carry, and the signed envelope that is a
// ledger entry. It knows nothing of storage, consensus or transport.
//
// Guarantees:
//
//   - Encode is deterministic and Decode accepts only canonical bytes, so
//     Decode followed by Encode is the identity on every accepted input
//     (TestRoundTrip, FuzzDecode). Signatures are over these bytes.
//   - Encode, Decode and ParseSigned run a fast path (per-type field plans
//     computed at init, a one-pass canonical-form scanner) that returns
//     exactly what the general path built on encoding/json returns, bytes
//     and errors alike; input the fast path does not accept is handed to the
//     general path, which says what is wrong (FuzzEncodeDifferential,
//     FuzzDecodeDifferential and FuzzParseSignedDifferential against the
//     reference copy in reference_test.go; FuzzCanonicalScanner,
//     FuzzTimeText).
//   - Validate answers a clean record from per-type plans of the validate
//     tags (vetplan.go) and hands every record it does not find clean to
//     go-playground/validator, whose problems and messages it reports, so
//     its result is validator's (TestVetAgreesWithValidator,
//     FuzzVetAgreesWithValidator); CheckPlaintext and the control-character
//     check likewise walk a clean record without building JSON paths, with
//     byte loops equal to their rune versions (TestPlaintextCleanAgrees,
//     TestTextOKAgrees, FuzzTextOK, FuzzCountDigits).
//   - Decode and ParseSigned never panic and never accept more than
//     MaxRecordSize / MaxEntrySize bytes (FuzzDecode, FuzzParseSigned).
//   - Identifier checks follow GB 32100-2015, GB 11714, GB 11643 and
//     GB/T 2260 exactly as DOMAIN.md section 5 states them (TestCheckUSCC,
//     TestCheckCitizenID).
//   - Personal identifiers never appear in plaintext in a record: a Person
//     holds a keyed hash, masked forms, and a payload sealed under a per-record
//     DataKey kept outside the ledger.
//   - Every hash and signature input starts with a domain-separation prefix
//     ("creditx/record/v1\n", "creditx/agency-key/v1\n",
//     "creditx/person-id/v1\n", "creditx/person/v1\n").
//
// How it fails: bad input returns an error and changes nothing. Decoding
// errors are *DecodeError (field and reason; ErrUnknownSchema for schema
// ids this version does not know); validation errors are ValidationErrors,
// one FieldError per problem with a JSON path and a message a clerk can act
// on; identifier errors are *IDError. Keyring lookups fail with
// ErrUnknownKey or ErrRevokedKey and signature checks with ErrBadSignature.
// The package has no mutable package-level state (a sync.Pool of scratch
// buffers and caches of per-type plans derived from the types alone aside,
// which change no result); a Validator and a
// Keyring are safe for concurrent reads.
package schemas
