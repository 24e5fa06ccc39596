package schemas

import (
	"bytes"
	"crypto/ed25519"

	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxEntrySize is the largest signed entry, in bytes (an entry in a
// tlog-tiles entry bundle carries a 16-bit length).
const MaxEntrySize = 65535

// ErrBadSignature is returned by Verify when the signature does not verify
// under the given key: reject the entry.
var ErrBadSignature = errors.New("signature does not verify")

const (
	keyIDDomain  = "creditx/agency-key/v1\n"
	recordDomain = "creditx/record/v1\n"
)

// KeyID returns the id of an agency key: the first 16 lower-case hex
// characters of SHA-256("creditx/agency-key/v1\n" || pub).
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.New()
	h.Write([]byte(keyIDDomain))
	h.Write(pub)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Signed is a parsed ledger entry: a canonical record signed by an agency key.
type Signed struct {
	Record json.RawMessage // canonical record bytes, as signed
	KeyID  string          // 16 hex characters, see KeyID
	Sig    []byte          // 64-byte Ed25519 signature
}

// Fixed parts of the entry wire form; see Sign.
const (
	entryPrefix  = `{"key":"`
	entryMiddle  = `","record":`
	entrySigPart = `,"sig":"`
	entrySuffix  = `"}`
	sigB64Len    = 88
)

// strictStdEncoding decodes signatures; read-only.
var strictStdEncoding = base64.StdEncoding.Strict()

func signedMessage(record []byte) []byte {
	msg := make([]byte, 0, len(recordDomain)+len(record))
	return append(append(msg, recordDomain...), record...)
}

// Sign encodes r canonically, signs it with priv and returns the ledger
// entry. It does not validate r: call Validate first.
//
// Entry wire form, byte by byte:
//
//	{"key":"<16 lower-case hex: key id>","record":<canonical record>,"sig":"<88 chars: std base64 of the 64-byte signature>"}
//
// with no whitespace: the canonical JSON encoding of the object with members
// key, record, sig. The signature is Ed25519 over
//
//	"creditx/record/v1\n" || canonical record bytes
//
// An entry is at most MaxEntrySize bytes. Versioning: a new envelope or
// signature scheme gets a new member set and domain prefix
// ("creditx/record/v2\n"); parsers reject what they do not know.
func Sign(r Record, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	rec, err := Encode(r)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig := ed25519.Sign(priv, signedMessage(rec))
	id := KeyID(priv.Public().(ed25519.PublicKey))
	entry := make([]byte, 0, len(entryPrefix)+16+len(entryMiddle)+len(rec)+len(entrySigPart)+sigB64Len+len(entrySuffix))
	entry = append(entry, entryPrefix...)
	entry = append(entry, id...)
	entry = append(entry, entryMiddle...)
	entry = append(entry, rec...)
	entry = append(entry, entrySigPart...)
	entry = base64.StdEncoding.AppendEncode(entry, sig)
	entry = append(entry, entrySuffix...)
	if len(entry) > MaxEntrySize {
		return nil, fmt.Errorf("sign: entry is %d bytes, more than the maximum %d", len(entry), MaxEntrySize)
	}
	return entry, nil
}

// ParseSigned parses an entry strictly: exactly the wire form of Sign, a
// canonical JSON object with a string "schema" as the record, at most
// MaxEntrySize bytes. It does not check the signature (Verify) nor decode the
// record into its type (Decode), so entries of schemas adopted later still
// parse. Errors are *DecodeError.
func ParseSigned(entry []byte) (*Signed, error) {
	id, rec, sig, err := parseEnvelope(entry)
	if err != nil {
		return nil, err
	}
	return checkRecord(id, rec, sig)
}

// ParseDecode is ParseSigned followed by Decode of the record, with the same
// results and errors: (nil, nil, err) where ParseSigned fails, (s, nil, err)
// where the envelope parses and Decode fails. It skips ParseSigned's scan
// of the record for canonical JSON when the record decodes on the fast path,
// which accepts only the exact canonical encoding of the record it returns
// (decodeFast), so the scan could not fail: admission and the FSM, which
// decode every record they parse, save that scan.
func ParseDecode(entry []byte) (*Signed, Record, error) {
	id, rec, sig, err := parseEnvelope(entry)
	if err != nil {
		return nil, nil, err
	}
	if len(rec) <= MaxRecordSize {
		own := bytes.Clone(rec) // the record must not alias the caller's entry
		if r := decodeFast(own); r != nil {
			return &Signed{Record: own, KeyID: id, Sig: sig}, r, nil
		}
	}
	s, err := checkRecord(id, rec, sig)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Decode()
	if err != nil {
		return s, nil, err
	}
	return s, r, nil
}

// DecodeEntry decodes the record of a log entry (ParseDecode), or returns
// nil if the entry is not a signed record of a known schema. It is for
// readers of entries a ledger already admitted; a nil result means the
// entry is of no kind they act on.
func DecodeEntry(entry []byte) Record {
	_, rec, err := ParseDecode(entry)
	if err != nil {
		return nil
	}
	return rec
}

// DecodeListing decodes a log entry that must hold a listing. Its errors
// are ParseDecode's, or name the kind of record the entry holds instead.
func DecodeListing(entry []byte) (*Listing, error) {
	_, rec, err := ParseDecode(entry)
	if err != nil {
		return nil, err
	}
	l, ok := rec.(*Listing)
	if !ok {
		return nil, fmt.Errorf("entry holds a %s record, not a listing", rec.Kind())
	}
	return l, nil
}

// parseEnvelope is ParseSigned without the record's canonical check: the
// key id, the record bytes (aliasing entry) and the signature.
func parseEnvelope(entry []byte) (id string, rec, sig []byte, err error) {
	if len(entry) > MaxEntrySize {
		return "", nil, nil, &DecodeError{Reason: fmt.Sprintf("entry is %d bytes, more than the maximum %d", len(entry), MaxEntrySize)}
	}
	if !utf8.Valid(entry) {
		return "", nil, nil, &DecodeError{Reason: "invalid UTF-8"}
	}
	fixed := len(entryPrefix) + 16 + len(entryMiddle) + len(entrySigPart) + sigB64Len + len(entrySuffix)
	if len(entry) < fixed+2 {
		return "", nil, nil, &DecodeError{Reason: "too short for a signed entry"}
	}
	rest, ok := bytes.CutPrefix(entry, []byte(entryPrefix))
	if !ok {
		return "", nil, nil, &DecodeError{Reason: `a signed entry starts with {"key":"`}
	}
	id = string(rest[:16])
	if !isLowerHex(id) {
		return "", nil, nil, &DecodeError{Field: "key", Reason: "must be 16 lower-case hex characters"}
	}
	rest, ok = bytes.CutPrefix(rest[16:], []byte(entryMiddle))
	if !ok {
		return "", nil, nil, &DecodeError{Field: "key", Reason: `must be followed by ,"record":`}
	}
	tail := len(entrySigPart) + sigB64Len + len(entrySuffix)
	rec, sigPart := rest[:len(rest)-tail], rest[len(rest)-tail:]
	b64, ok := bytes.CutPrefix(sigPart, []byte(entrySigPart))
	if !ok || !bytes.HasSuffix(b64, []byte(entrySuffix)) {
		return "", nil, nil, &DecodeError{Field: "sig", Reason: `an entry ends with ,"sig":"<88 base64 characters>"}`}
	}
	b64 = b64[:sigB64Len]
	sig, err = strictStdEncoding.DecodeString(string(b64))
	if err != nil || len(sig) != ed25519.SignatureSize || string(base64.StdEncoding.AppendEncode(make([]byte, 0, sigB64Len), sig)) != string(b64) {
		return "", nil, nil, &DecodeError{Field: "sig", Reason: "must be std base64 of a 64-byte Ed25519 signature"}
	}
	return id, rec, sig, nil
}

// checkRecord is ParseSigned's check that rec is a canonical JSON object
// with a string "schema" member.
func checkRecord(id string, rec, sig []byte) (*Signed, error) {
	if isCanonicalRecord(rec) {
		return &Signed{Record: bytes.Clone(rec), KeyID: id, Sig: sig}, nil
	}
	// Not canonical: parse it to say what is wrong.
	v, err := parseJSON(rec)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = joinPath("record", de.Field)
		}
		return nil, err
	}
	if v.kind != '{' {
		return nil, &DecodeError{Field: "record", Reason: "must be a JSON object"}
	}
	if sv := v.member("schema"); sv == nil || sv.kind != '"' {
		return nil, &DecodeError{Field: "record.schema", Reason: "required string"}
	}
	if !bytes.Equal(v.appendTo(nil), rec) {
		return nil, &DecodeError{Field: "record", Reason: "not canonical JSON"}
	}
	return &Signed{Record: bytes.Clone(rec), KeyID: id, Sig: sig}, nil
}

// EntryKeyID returns the key id of entry e if e begins as a signed entry
// does ({"key":" and 16 lower-case hex characters), without parsing the
// rest: a cheap look-up before ParseSigned, which any entry that fails here
// also fails.
func EntryKeyID(e []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(e, []byte(entryPrefix))
	if !ok || len(rest) < 16 || !isLowerHex(string(rest[:16])) {
		return "", false
	}
	return string(rest[:16]), true
}

// Verify checks that pub has the entry's key id and that the signature over
// the record verifies under pub. It returns nil, an error naming the key id
// mismatch, or an error wrapping ErrBadSignature.
func (s *Signed) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if id := KeyID(pub); id != s.KeyID {
		return fmt.Errorf("verify: entry is signed by key %s, not %s", s.KeyID, id)
	}
	if !ed25519.Verify(pub, signedMessage(s.Record), s.Sig) {
		return fmt.Errorf("verify: key %s: %w", s.KeyID, ErrBadSignature)
	}
	return nil
}

// Decode decodes the signed record strictly (see the package-level Decode).
func (s *Signed) Decode() (Record, error) { return Decode(s.Record) }

// SigCheck is one signature for VerifyBatch: entry S signed by Pub.
type SigCheck struct {
	S   *Signed
	Pub ed25519.PublicKey
}

// VerifyBatch checks many signatures and returns one error per item, nil
// where it verifies, each as Verify would report it. It first checks all of
// them at once with Ed25519 batch verification (the equation of
// ed25519consensus, with the terms of each key summed: batchverify.go; well
// under half the CPU per signature of checking one by one); only when the batch fails
// does it check the items one by one with crypto/ed25519 to name the bad ones.
//
// Batch verification follows ZIP-215, which accepts every signature that
// crypto/ed25519 (RFC 8032) accepts. It also accepts signatures that a signer
// deliberately built from points with a small-order component, which
// crypto/ed25519 refuses; such a signature can pass inside a batch whose
// other signatures are all valid. Admission at the origin uses Verify, so
// no honest ledger holds one; a verifier that must refuse them calls Verify.
func VerifyBatch(items []SigCheck) []error {
	errs := make([]error, len(items))
	ok := true
	ids := map[string]string{} // key id by public key: one hash per key, not per entry
	for i, it := range items {
		if len(it.Pub) != ed25519.PublicKeySize {
			errs[i] = fmt.Errorf("verify: public key is %d bytes, want %d", len(it.Pub), ed25519.PublicKeySize)
			ok = false
			continue
		}
		id, seen := ids[string(it.Pub)]
		if !seen {
			id = KeyID(it.Pub)
			ids[string(it.Pub)] = id
		}
		if id != it.S.KeyID {
			errs[i] = fmt.Errorf("verify: entry is signed by key %s, not %s", it.S.KeyID, id)
			ok = false
		}
	}
	if ok && len(items) > 0 && batchVerify(items) { // batchverify.go
		return errs
	}
	for i, it := range items {
		if errs[i] == nil {
			errs[i] = it.S.Verify(it.Pub)
		}
	}
	return errs
}
