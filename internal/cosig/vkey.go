// Package cosig parses and converts witness verifier keys (C2SP
// tlog-cosignature keys in C2SP signed-note vkey form), for the packages that
// read them: exchange (manifest), schemas (member_approve), audit (trust).
//
// A vkey is
//
//	<key name> "+" <8 lower-case hex digits: key ID> "+" <std base64 of type byte || public key>
//
// Accepted types:
//
//	0x04  Ed25519 cosignature/v1: 32-byte key; key ID =
//	      SHA-256(name || "\n" || 0x04 || key)[:4], the ID on the cosignature lines
//	0x06  ML-DSA-44 cosignature: 1,312-byte key; key ID =
//	      SHA-256(name || "\n" || 0x06 || key)[:4]
//	0x01  a plain Ed25519 signed-note vkey (manifests written before type
//	      0x04 was published): its ID is SHA-256(name || "\n" || 0x01 || key)[:4],
//	      which is NOT the ID on the cosignature lines; it is read as the
//	      type-0x04 key of the same name and public key (Canonical converts it).
//
// How it fails: a vkey whose key ID does not match its name and key
// (signed-note: "The key name and ID MUST match those used in the
// signatures"), an unknown type or a malformed encoding is an error naming
// why; nothing is accepted partially.
package cosig

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Signature types of the vkey's type byte.
const (
	TypeEd25519      = 0x01
	TypeCosignatureE = 0x04 // Ed25519 cosignature/v1
	TypeCosignatureM = 0x06 // ML-DSA-44 cosignature
)

// ErrVKey is wrapped by every parse error.
var ErrVKey = errors.New("not a witness verifier key")

// Parse returns the verifier of a witness vkey (see the package doc). Its
// KeyHash is the key ID on the witness's cosignature lines.
func Parse(vkey string) (note.Verifier, error) {
	canon, err := Canonical(vkey)
	if err != nil {
		return nil, err
	}
	v, err := fnote.NewVerifierForCosignatureV1(canon)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVKey, err)
	}
	return v, nil
}

// Canonical returns vkey in the form tlog-cosignature publishes: type 0x04
// (or 0x06) with the key ID of the cosignature lines. A type-0x01 vkey is
// converted; a type-0x04 or 0x06 vkey is returned as is once its key ID is
// checked.
func Canonical(vkey string) (string, error) {
	vkey = strings.TrimSpace(vkey)
	name, rest, ok1 := strings.Cut(vkey, "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || strings.ContainsAny(name, " \t\n+") {
		return "", fmt.Errorf("%w: %q is not <name>+<key id>+<key>", ErrVKey, vkey)
	}
	id, err := strconv.ParseUint(id16, 16, 32)
	if len(id16) != 8 || err != nil {
		return "", fmt.Errorf("%w: key id %q is not 8 hex digits", ErrVKey, id16)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) < 2 {
		return "", fmt.Errorf("%w: key is not std base64", ErrVKey)
	}
	switch key[0] {
	case TypeEd25519:
		if _, err := note.NewVerifier(vkey); err != nil {
			return "", fmt.Errorf("%w: %v", ErrVKey, err)
		}
		c, err := fnote.VKeyToCosignatureV1(vkey)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrVKey, err)
		}
		return c, nil
	case TypeCosignatureE:
		if len(key) != 33 {
			return "", fmt.Errorf("%w: an Ed25519 cosignature key has 32 bytes, got %d", ErrVKey, len(key)-1)
		}
	case TypeCosignatureM:
		if len(key) != 1+1312 {
			return "", fmt.Errorf("%w: an ML-DSA-44 cosignature key has 1312 bytes, got %d", ErrVKey, len(key)-1)
		}
	default:
		return "", fmt.Errorf("%w: signature type 0x%02x is not a cosignature type (0x04, 0x06)", ErrVKey, key[0])
	}
	if want := KeyID(name, key); uint32(id) != want {
		return "", fmt.Errorf("%w: key id %08x does not match name and key (want %08x)", ErrVKey, id, want)
	}
	return vkey, nil
}

// KeyID is SHA-256(name || "\n" || typedKey)[:4] as a big-endian uint32, the
// signed-note key ID (typedKey starts with the type byte).
func KeyID(name string, typedKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(typedKey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Same reports whether two witness vkeys name the same cosigner (same name
// and public key), whatever their type byte (0x01 or 0x04).
func Same(a, b string) bool {
	ca, err1 := Canonical(a)
	cb, err2 := Canonical(b)
	return err1 == nil && err2 == nil && ca == cb
}
