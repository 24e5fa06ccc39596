package node

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

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	SubjectIssueRequest = api.SubjectIssueRequest
)

// Subject tokens (issue 18): how a listed organisation or person reaches its
// own records.
//
// After real-name authentication at the counter (or the province's
// real-name service), the region's credit office issues a subject token: a
// short statement signed with the office's record-signing key (the
// sanctions issuer key, a registered anchor of the region) binding a bearer
// to one subject key: a USCC, or the keyed hash ("h1:...") of a citizen ID.
// The citizen ID itself is hashed at issue and never appears in the token.
// A token lives 8 hours by default and at most 24 hours; the office revokes
// one before it expires by its serial (SubjectRevokedFile). DESIGN.md says
// why a token and not a client certificate.
//
// Wire format, version 1 (changing it is a new prefix "cxs2."; a node
// accepts only the versions it knows):
//
//	cxs1.<payload>.<signature>
//
// payload is the unpadded base64url encoding of the JSON object
// SubjectToken (at most MaxSubjectTokenPayload bytes, no unknown members),
// signature the unpadded base64url Ed25519 signature over
// "creditx subject token v1\n" || payload JSON bytes (the decoded bytes
// exactly as signed; the domain prefix keeps a token signature from ever
// being a valid record signature and vice versa).

// SubjectTokenPrefix starts every version-1 subject token.
const SubjectTokenPrefix = "cxs1."

// subjectTokenDomain separates subject-token signatures from every other
// signature made with the office key. Changing it invalidates every token.
const subjectTokenDomain = "creditx subject token v1\n"

// MaxSubjectTokenPayload bounds the decoded payload of a token.
const MaxSubjectTokenPayload = 1024

// Subject token lifetimes.
const (
	DefaultSubjectTokenTTL = 8 * time.Hour
	MaxSubjectTokenTTL     = 24 * time.Hour
)

// SubjectRevokedFile, under a replica's data directory, lists revoked token
// serials, one per line ("#" starts a comment). `creditx subject revoke`
// appends to it; every replica of the region needs the line (a revocation
// outlives the token by at most MaxSubjectTokenTTL, so the file can be
// pruned). Changing this name breaks existing revocations.
const SubjectRevokedFile = "keys/subject-revoked.txt"

// Subject kinds.
const (
	SubjectOrganisation = "organisation"
	SubjectPerson       = "person"
)

// SubjectToken is the signed statement a subject token carries.
type SubjectToken struct {
	Region  string `json:"region"`         // issuing region's division code
	Serial  string `json:"serial"`         // 16 hex digits, unique per token
	Kind    string `json:"kind"`           // SubjectOrganisation or SubjectPerson
	Subject string `json:"subject"`        // USCC, or "h1:" keyed hash of the citizen ID
	Name    string `json:"name,omitempty"` // display name (organisations); never a person's name
	Issued  int64  `json:"iat"`            // Unix seconds
	Expires int64  `json:"exp"`            // Unix seconds, at most MaxSubjectTokenTTL after Issued
	Key     string `json:"key"`            // key id (schemas.KeyID) of the office key that signed it
}

// SubjectTokenError is a problem with one field of a token or of a request
// to issue one.
type SubjectTokenError struct {
	Field, Message string
}

func (e *SubjectTokenError) Error() string { return e.Field + ": " + e.Message }

// SubjectTokenErrors are all the field problems found; nothing was issued.
type SubjectTokenErrors []*SubjectTokenError

func (es SubjectTokenErrors) Error() string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// ErrSubjectTokenExpired, ErrSubjectTokenRevoked and
// ErrSubjectTokenSignature are returned by VerifySubjectToken; the caller
// answers 401 and the subject asks the office for a new token.
var (
	ErrSubjectTokenExpired   = errors.New("subject token expired or not yet valid")
	ErrSubjectTokenRevoked   = errors.New("subject token revoked")
	ErrSubjectTokenSignature = errors.New("subject token not signed by this region's credit office")
)

// IssueSubjectToken checks req and signs a token with the office key. Bad
// input is refused with every field error (SubjectTokenErrors) and no token.
func IssueSubjectToken(key ed25519.PrivateKey, mk *schemas.MatchKey, req SubjectIssueRequest, now time.Time) (string, *SubjectToken, error) {
	var errs SubjectTokenErrors
	bad := func(f, format string, a ...any) {
		errs = append(errs, &SubjectTokenError{f, fmt.Sprintf(format, a...)})
	}
	if len(req.Region) != 6 || strings.Trim(req.Region, "0123456789") != "" {
		bad("region", "%q is not a 6-digit division code", clip(req.Region))
	}
	t := &SubjectToken{Region: req.Region, Name: strings.TrimSpace(req.Name), Issued: now.Unix()}
	switch {
	case req.USCC != "" && req.CitizenID != "":
		bad("subject", "give either a USCC (organisation) or a citizen ID (person), not both")
	case req.USCC != "":
		if err := schemas.CheckUSCC(req.USCC); err != nil {
			bad("uscc", "%v", err)
		}
		t.Kind, t.Subject = SubjectOrganisation, req.USCC
	case req.CitizenID != "":
		if err := schemas.CheckCitizenID(req.CitizenID); err != nil {
			bad("citizen_id", "%v", err)
		} else if mk == nil {
			bad("match_key", "hashing a citizen ID needs the consortium match key")
		} else {
			t.Subject = mk.HashID(req.CitizenID)
		}
		t.Kind = SubjectPerson
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
		ttl = DefaultSubjectTokenTTL
	}
	if ttl < time.Minute || ttl > MaxSubjectTokenTTL {
		bad("ttl", "%v is outside 1m..%v", ttl, MaxSubjectTokenTTL)
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
	sig := ed25519.Sign(key, append([]byte(subjectTokenDomain), payload...))
	return SubjectTokenPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig), t, nil
}

// ParseSubjectToken decodes a token and checks its fields, without
// verifying the signature (VerifySubjectToken does). It never panics.
func ParseSubjectToken(s string) (*SubjectToken, []byte, []byte, error) {
	bad := func(f, msg string) (*SubjectToken, []byte, []byte, error) {
		return nil, nil, nil, &SubjectTokenError{f, msg}
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), SubjectTokenPrefix)
	if !ok {
		return bad("token", "does not start with "+SubjectTokenPrefix)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return bad("token", "want cxs1.<payload>.<signature>")
	}
	if len(p64) > base64.RawURLEncoding.EncodedLen(MaxSubjectTokenPayload) {
		return bad("token.payload", fmt.Sprintf("longer than %d bytes", MaxSubjectTokenPayload))
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
	var t SubjectToken
	if err := d.Decode(&t); err != nil {
		return bad("token.payload", "not a subject token: "+err.Error())
	}
	if d.More() {
		return bad("token.payload", "trailing data")
	}
	switch {
	case len(t.Region) != 6 || strings.Trim(t.Region, "0123456789") != "":
		return bad("token.region", "not a division code")
	case len(t.Serial) != 16 || strings.Trim(t.Serial, "0123456789abcdef") != "":
		return bad("token.serial", "not 16 lower-case hex digits")
	case t.Kind == SubjectOrganisation && schemas.CheckUSCC(t.Subject) != nil:
		return bad("token.subject", "not a USCC")
	case t.Kind == SubjectPerson && !schemas.IsIDHash(t.Subject):
		return bad("token.subject", "not an h1: keyed hash")
	case t.Kind != SubjectOrganisation && t.Kind != SubjectPerson:
		return bad("token.kind", "neither organisation nor person")
	case t.Kind == SubjectPerson && t.Name != "":
		return bad("token.name", "a person's token carries no name")
	case t.Expires <= t.Issued || t.Expires-t.Issued > int64(MaxSubjectTokenTTL/time.Second):
		return bad("token.exp", "lifetime outside (0, 24h]")
	case t.Key == "":
		return bad("token.key", "required")
	}
	return &t, payload, sig, nil
}

// VerifySubjectToken parses s and checks it was signed by office for
// region, is valid at now, and is not revoked.
func VerifySubjectToken(s string, office ed25519.PublicKey, region string, now time.Time, revoked func(serial string) bool) (*SubjectToken, error) {
	t, payload, sig, err := ParseSubjectToken(s)
	if err != nil {
		return nil, err
	}
	if t.Key != schemas.KeyID(office) || !ed25519.Verify(office, append([]byte(subjectTokenDomain), payload...), sig) {
		return nil, ErrSubjectTokenSignature
	}
	if t.Region != region {
		return nil, fmt.Errorf("%w: issued by region %s, this node is %s", ErrSubjectTokenSignature, t.Region, region)
	}
	if u := now.Unix(); u < t.Issued-60 || u >= t.Expires {
		return nil, fmt.Errorf("%w (valid %s to %s)", ErrSubjectTokenExpired,
			time.Unix(t.Issued, 0).UTC().Format(time.RFC3339), time.Unix(t.Expires, 0).UTC().Format(time.RFC3339))
	}
	if revoked != nil && revoked(t.Serial) {
		return nil, fmt.Errorf("%w: serial %s", ErrSubjectTokenRevoked, t.Serial)
	}
	return t, nil
}

// ReadRevokedSerials reads a SubjectRevokedFile; a missing file is empty.
func ReadRevokedSerials(path string) (map[string]bool, error) {
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

// RevokeSubjectToken appends serial to the revocation file at path, fsynced
// before it returns (a revocation reported done survives a crash).
func RevokeSubjectToken(path, serial, reason string) error {
	if len(serial) != 16 || strings.Trim(serial, "0123456789abcdef") != "" {
		return &SubjectTokenError{"serial", fmt.Sprintf("%q is not 16 lower-case hex digits", clip(serial))}
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
