// Package subjecttoken is how a listed organisation or person reaches its
// own records (issue 18): the subject token's format, its issue by the
// region's credit office, its verification by a node, and revocation.
//
// After real-name authentication at the counter (or the province's
// real-name service), the region's credit office issues a subject token: a
// short statement signed with the office's record-signing key (the
// sanctions issuer key, a registered anchor of the region) binding a bearer
// to one subject key: a USCC, or the keyed hash ("h1:...") of a citizen ID.
// DESIGN.md says why a token and not a client certificate.
//
// Guarantees: the citizen ID is hashed at issue and never appears in a
// token, nor a person's name. Verify accepts a token only if it was signed
// by the office key given, for the region given, is within its lifetime
// (8 hours by default, at most 24; one minute of clock skew before Issued)
// and its serial is not revoked; a refusal is ErrSignature, ErrExpired or
// ErrRevoked (the caller answers 401 and the subject asks the office for a
// new token). Parse never panics on any input (FuzzParse). Revoke returns
// only once the revocation is fsynced (RevokedFile). A token signature can
// never be a valid record signature and vice versa (domain separation).
//
// The byte format (version 1) is specified at Issue, which encodes it, and
// Parse, which decodes it.
package subjecttoken

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditx/creditx/schemas"
)

// Prefix starts every version-1 subject token.
const Prefix = "cxs1."

// domain separates subject-token signatures from every other
// signature made with the office key. Changing it invalidates every token.
const domain = "creditx subject token v1\n"

// MaxPayload bounds the decoded payload of a token.
const MaxPayload = 1024

// Subject token lifetimes.
const (
	DefaultTTL = 8 * time.Hour
	MaxTTL     = 24 * time.Hour
)

// RevokedFile, under a replica's data directory, lists revoked token
// serials, one per line ("#" starts a comment). `creditx subject revoke`
// appends to it; every replica of the region needs the line (a revocation
// outlives the token by at most MaxTTL, so the file can be
// pruned). Changing this name breaks existing revocations.
const RevokedFile = "keys/subject-revoked.txt"

// Subject kinds.
const (
	Organisation = "organisation"
	Person       = "person"
)

// Token is the signed statement a subject token carries.
type Token struct {
	Region  string `json:"region"`         // issuing region's division code
	Serial  string `json:"serial"`         // 16 hex digits, unique per token
	Kind    string `json:"kind"`           // Organisation or Person
	Subject string `json:"subject"`        // USCC, or "h1:" keyed hash of the citizen ID
	Name    string `json:"name,omitempty"` // display name (organisations); never a person's name
	Issued  int64  `json:"iat"`            // Unix seconds
	Expires int64  `json:"exp"`            // Unix seconds, at most MaxTTL after Issued
	Key     string `json:"key"`            // key id (schemas.KeyID) of the office key that signed it
}

// FieldError is a problem with one field of a token or of a request
// to issue one.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors are all the field problems found; nothing was issued.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// ErrExpired, ErrRevoked and
// ErrSignature are returned by Verify; the caller
// answers 401 and the subject asks the office for a new token.
var (
	ErrExpired   = errors.New("subject token expired or not yet valid")
	ErrRevoked   = errors.New("subject token revoked")
	ErrSignature = errors.New("subject token not signed by this region's credit office")
)

// IssueRequest is what the office clerk enters after real-name
// authentication.
type IssueRequest struct {
	Region    string
	USCC      string // an organisation, or
	CitizenID string // a natural person (hashed with the match key, never kept)
	Name      string // organisation name (optional)
	TTL       time.Duration
}

// Issue checks req and signs a token with the office key, in the wire
// format, version 1:
//
//	"cxs1." || base64url(payload) || "." || base64url(signature)
//
// base64url is unpadded (RFC 4648 section 5); payload is the JSON encoding
// of Token (at most MaxPayload bytes; a parser refuses unknown members and
// trailing data), signature the 64-byte Ed25519 signature over
//
//	"creditx subject token v1\n" || payload
//
// (the decoded payload bytes exactly as signed). Versioning: another format
// gets another prefix ("cxs2.") and domain; a node accepts only the versions
// it knows.
//
// Bad input is refused with every field error (FieldErrors) and no token.
func Issue(key ed25519.PrivateKey, mk *schemas.MatchKey, req IssueRequest, now time.Time) (string, *Token, error) {
	var errs FieldErrors
	bad := func(f, format string, a ...any) {
		errs = append(errs, &FieldError{f, fmt.Sprintf(format, a...)})
	}
	if len(req.Region) != 6 || strings.Trim(req.Region, "0123456789") != "" {
		bad("region", "%q is not a 6-digit division code", clip(req.Region))
	}
	t := &Token{Region: req.Region, Name: strings.TrimSpace(req.Name), Issued: now.Unix()}
	switch {
	case req.USCC != "" && req.CitizenID != "":
		bad("subject", "give either a USCC (organisation) or a citizen ID (person), not both")
	case req.USCC != "":
		if err := schemas.CheckUSCC(req.USCC); err != nil {
			bad("uscc", "%v", err)
		}
		t.Kind, t.Subject = Organisation, req.USCC
	case req.CitizenID != "":
		if err := schemas.CheckCitizenID(req.CitizenID); err != nil {
			bad("citizen_id", "%v", err)
		} else if mk == nil {
			bad("match_key", "hashing a citizen ID needs the consortium match key")
		} else {
			t.Subject = mk.HashID(req.CitizenID)
		}
		t.Kind = Person
		if t.Name != "" {
			bad("name", "a person's token carries no name (personal data stays out of tokens)")
		}
	default:
		bad("subject", "required: a USCC (organisation) or a citizen ID (person)")
	}
	if utf8.RuneCountInString(t.Name) > 100 {
		bad("name", "longer than 100 characters")
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Minute || ttl > MaxTTL {
		bad("ttl", "%v is outside 1m..%v", ttl, MaxTTL)
	}
	if len(key) != ed25519.PrivateKeySize {
		bad("key", "not an Ed25519 private key")
	}
	if len(errs) > 0 {
		return "", nil, errs
	}
	var serial [8]byte
	rand.Read(serial[:])
	t.Serial = hex.EncodeToString(serial[:])
	t.Expires = now.Add(ttl).Unix()
	pub := key.Public().(ed25519.PublicKey)
	t.Key = schemas.KeyID(pub)
	payload, err := json.Marshal(t)
	if err != nil {
		return "", nil, err
	}
	sig := ed25519.Sign(key, append([]byte(domain), payload...))
	return Prefix + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig), t, nil
}

// Parse decodes a token in the format of Issue and checks its fields,
// without verifying the signature (Verify does); it returns the decoded
// payload and signature for that. It never panics (FuzzParse).
func Parse(s string) (*Token, []byte, []byte, error) {
	bad := func(f, msg string) (*Token, []byte, []byte, error) {
		return nil, nil, nil, &FieldError{f, msg}
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), Prefix)
	if !ok {
		return bad("token", "does not start with "+Prefix)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return bad("token", "want cxs1.<payload>.<signature>")
	}
	if len(p64) > base64.RawURLEncoding.EncodedLen(MaxPayload) {
		return bad("token.payload", fmt.Sprintf("longer than %d bytes", MaxPayload))
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p64)
	if err != nil {
		return bad("token.payload", "not base64url: "+err.Error())
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(s64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return bad("token.signature", "not a base64url Ed25519 signature")
	}
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	var t Token
	if err := d.Decode(&t); err != nil {
		return bad("token.payload", "not a subject token: "+err.Error())
	}
	if d.More() {
		return bad("token.payload", "trailing data")
	}
	switch {
	case len(t.Region) != 6 || strings.Trim(t.Region, "0123456789") != "":
		return bad("token.region", "not a division code")
	case !ValidSerial(t.Serial):
		return bad("token.serial", "not 16 lower-case hex digits")
	case t.Kind == Organisation && schemas.CheckUSCC(t.Subject) != nil:
		return bad("token.subject", "not a USCC")
	case t.Kind == Person && !schemas.IsIDHash(t.Subject):
		return bad("token.subject", "not an h1: keyed hash")
	case t.Kind != Organisation && t.Kind != Person:
		return bad("token.kind", "neither organisation nor person")
	case t.Kind == Person && t.Name != "":
		return bad("token.name", "a person's token carries no name")
	case t.Expires <= t.Issued || t.Expires-t.Issued > int64(MaxTTL/time.Second):
		return bad("token.exp", "lifetime outside (0, 24h]")
	case t.Key == "":
		return bad("token.key", "required")
	}
	return &t, payload, sig, nil
}

// Verify parses s and checks it was signed by office for
// region, is valid at now, and is not revoked.
func Verify(s string, office ed25519.PublicKey, region string, now time.Time, revoked func(serial string) bool) (*Token, error) {
	t, payload, sig, err := Parse(s)
	if err != nil {
		return nil, err
	}
	if t.Key != schemas.KeyID(office) || !ed25519.Verify(office, append([]byte(domain), payload...), sig) {
		return nil, ErrSignature
	}
	if t.Region != region {
		return nil, fmt.Errorf("%w: issued by region %s, this node is %s", ErrSignature, t.Region, region)
	}
	if u := now.Unix(); u < t.Issued-60 || u >= t.Expires {
		return nil, fmt.Errorf("%w (valid %s to %s)", ErrExpired,
			time.Unix(t.Issued, 0).UTC().Format(time.RFC3339), time.Unix(t.Expires, 0).UTC().Format(time.RFC3339))
	}
	if revoked != nil && revoked(t.Serial) {
		return nil, fmt.Errorf("%w: serial %s", ErrRevoked, t.Serial)
	}
	return t, nil
}

// ReadRevoked reads a RevokedFile; a missing file is empty.
func ReadRevoked(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out[line] = true
		}
	}
	return out, sc.Err()
}

// Revoke appends serial to the revocation file at path, fsynced
// before it returns (a revocation reported done survives a crash).
func Revoke(path, serial, reason string) error {
	if !ValidSerial(serial) {
		return &FieldError{"serial", fmt.Sprintf("%q is not 16 lower-case hex digits", clip(serial))}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("revocation file: %w", err)
	}
	reason = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, reason)
	if _, err := fmt.Fprintf(f, "%s # %s %s\n", serial, time.Now().UTC().Format(time.RFC3339), reason); err != nil {
		f.Close()
		return fmt.Errorf("revocation file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("revocation file: %w", err)
	}
	return f.Close()
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ValidSerial says whether s has the form of a token serial: exactly 16
// lower-case hex digits.
func ValidSerial(s string) bool {
	return len(s) == 16 && strings.Trim(s, "0123456789abcdef") == ""
}
