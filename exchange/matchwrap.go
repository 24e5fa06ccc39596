package exchange

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/creditx/creditx/schemas"
)

// The consortium matching key for a new member (issue 16).
//
// Every member hashes citizen IDs under the same matching key
// (schemas.MatchKey), so a city that makes its own key matches nobody. The
// new member makes an X25519 key pair in its key ceremony
// (NewMatchKeyRequest) and hands the public half (the request, public by
// design) to a founder, whose key is wrapped to it with HPKE (RFC 9180,
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305): the wrapped
// key can travel by any channel, and only the holder of the request's
// private key, under the member code it was wrapped for, opens it.
//
// Request (text, one line):
//
//	"creditx-match-request/v1 " || code || " " || std base64(X25519 public key, 32 bytes)
//
// Wrapped key (text, one line):
//
//	"creditx-match-key/v1 " || code || " " || std base64(enc (32 bytes) || ciphertext (32 + 16 bytes))
//
// with HPKE info = "creditx match key v1\x00" || code: the code binds the
// key to the member it was made for (a key wrapped for 330100 does not open
// as 320500's). Versioning rule: a new construction gets a new prefix
// (/v2); v1 is never reinterpreted.

const (
	matchRequestPrefix = "creditx-match-request/v1 "
	matchWrapPrefix    = "creditx-match-key/v1 "
	matchWrapInfo      = "creditx match key v1\x00"
)

// MatchWrapError says why a request or wrapped key cannot be used.
type MatchWrapError struct {
	Field  string // "request", "code", "wrapped"
	Reason string
}

func (e *MatchWrapError) Error() string { return "match key " + e.Field + ": " + e.Reason }

func matchSuite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ChaCha20Poly1305() }

// NewMatchKeyRequest makes member code's X25519 key pair for receiving the
// matching key and returns the private key and the request text.
func NewMatchKeyRequest(code string) (*ecdh.PrivateKey, string, error) {
	if err := schemas.CheckDivision(code); err != nil {
		return nil, "", &MatchWrapError{Field: "code", Reason: err.Error()}
	}
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	return k, matchRequestPrefix + code + " " + base64.StdEncoding.EncodeToString(k.PublicKey().Bytes()), nil
}

// ParseMatchKeyRequest parses a request text into its member code and key.
func ParseMatchKeyRequest(s string) (code string, pub *ecdh.PublicKey, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), matchRequestPrefix)
	code, b64, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 {
		return "", nil, &MatchWrapError{Field: "request", Reason: "not \"" + matchRequestPrefix + "CODE KEY\""}
	}
	if err := schemas.CheckDivision(code); err != nil {
		return "", nil, &MatchWrapError{Field: "code", Reason: err.Error()}
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err == nil {
		pub, err = ecdh.X25519().NewPublicKey(raw)
	}
	if err != nil {
		return "", nil, &MatchWrapError{Field: "request", Reason: "not a std base64 X25519 public key"}
	}
	return code, pub, nil
}

// WrapMatchKey wraps key for the member that made request.
func WrapMatchKey(request string, key schemas.MatchKey) (string, error) {
	code, pub, err := ParseMatchKeyRequest(request)
	if err != nil {
		return "", err
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("match key: %w", err)
	}
	kdf, aead := matchSuite()
	ct, err := hpke.Seal(pk, kdf, aead, []byte(matchWrapInfo+code), key[:])
	if err != nil {
		return "", fmt.Errorf("match key: sealing: %w", err)
	}
	return matchWrapPrefix + code + " " + base64.StdEncoding.EncodeToString(ct), nil
}

// UnwrapMatchKey opens a wrapped key with member code's request key. It
// fails with a *MatchWrapError if the text is malformed, was wrapped for
// another code, or does not open with priv.
func UnwrapMatchKey(priv *ecdh.PrivateKey, code, wrapped string) (schemas.MatchKey, error) {
	var mk schemas.MatchKey
	rest, ok := strings.CutPrefix(strings.TrimSpace(wrapped), matchWrapPrefix)
	wrappedFor, b64, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 {
		return mk, &MatchWrapError{Field: "wrapped", Reason: "not \"" + matchWrapPrefix + "CODE DATA\""}
	}
	if wrappedFor != code {
		return mk, &MatchWrapError{Field: "code", Reason: fmt.Sprintf("wrapped for %q, not for %s", wrappedFor, code)}
	}
	ct, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return mk, &MatchWrapError{Field: "wrapped", Reason: "not std base64"}
	}
	sk, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return mk, fmt.Errorf("match key: %w", err)
	}
	kdf, aead := matchSuite()
	pt, err := hpke.Open(sk, kdf, aead, []byte(matchWrapInfo+code), ct)
	if err != nil {
		return mk, &MatchWrapError{Field: "wrapped", Reason: "does not open with this member's request key (wrapped for another key or altered)"}
	}
	if len(pt) != len(mk) {
		return mk, &MatchWrapError{Field: "wrapped", Reason: fmt.Sprintf("%d bytes, want %d", len(pt), len(mk))}
	}
	copy(mk[:], pt)
	return mk, nil
}

// ParseMatchRequestKey parses the private request key as written by
// MatchRequestKeyText: std base64 of the 32-byte X25519 scalar.
func ParseMatchRequestKey(s string) (*ecdh.PrivateKey, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, &MatchWrapError{Field: "request key", Reason: "not std base64"}
	}
	k, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return nil, &MatchWrapError{Field: "request key", Reason: err.Error()}
	}
	return k, nil
}

// MatchRequestKeyText is the file form of a private request key.
func MatchRequestKeyText(k *ecdh.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Bytes()) + "\n"
}
