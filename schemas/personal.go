package schemas

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MatchKey is the consortium HMAC key under which personal identifiers are
// hashed for matching across members. Every member holds the same key.
type MatchKey [32]byte

// ParseMatchKey parses the 64-character hex form produced by MatchKey.String.
func ParseMatchKey(s string) (MatchKey, error) {
	var k MatchKey
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return k, fmt.Errorf("match key: length %d, want 64 hex characters", len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return MatchKey{}, fmt.Errorf("match key: %w", err)
	}
	return k, nil
}

// String returns the key as 64 lower-case hex characters.
func (k MatchKey) String() string { return hex.EncodeToString(k[:]) }

// idHashPrefix versions the hash; a new hash construction gets "h2:".
const idHashPrefix = "h1:"

// idHashDomain separates person-ID hashes from every other HMAC input.
const idHashDomain = "creditx/person-id/v1\n"

// HashID returns the matching key of a citizen ID:
//
//	"h1:" + lower-case hex(HMAC-SHA256(k, "creditx/person-id/v1\n" + NormalizeCitizenID(id)))
//
// Two members holding the same key compute the same hash for the same person.
func (k MatchKey) HashID(id string) string {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(idHashDomain))
	m.Write([]byte(NormalizeCitizenID(id)))
	return idHashPrefix + hex.EncodeToString(m.Sum(nil))
}

// IsIDHash reports whether s has the form produced by HashID.
func IsIDHash(s string) bool {
	return len(s) == len(idHashPrefix)+64 && strings.HasPrefix(s, idHashPrefix) && isLowerHex(s[len(idHashPrefix):])
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// DataKey is the per-record AES-256 key that seals a Person's plaintext. It
// is kept outside the ledger (in the node's vault); destroying it honours a
// legal deletion while the ledger's hashes stay verifiable.
type DataKey [32]byte

// Person is how a natural person appears in a record: never in plaintext.
type Person struct {
	IDHash     string `json:"id_hash,omitempty" validate:"required,idhash"`
	IDMasked   string `json:"id_masked,omitempty" validate:"required,masked_id"`
	NameMasked string `json:"name_masked,omitempty" validate:"required,max=64"`
	// Sealed is std base64 of nonce(12) || AES-256-GCM ciphertext of the
	// JSON {"id":"<normalized id>","name":"<name>"}, with additional data
	// "creditx/person/v1\n" + IDHash, so a sealed blob cannot be moved to
	// another person's entry. Versioning: another sealing scheme gets a new
	// AAD prefix ("creditx/person/v2\n").
	Sealed string `json:"sealed,omitempty" validate:"omitempty,base64,max=4096"`
}

const sealAADPrefix = "creditx/person/v1\n"

// ErrSealed is returned by OpenPerson when the data key does not open the
// sealed payload (wrong key, destroyed key replaced, or tampered data).
var ErrSealed = errors.New("sealed personal data cannot be opened")

type sealedPayload struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SealPerson validates id with CheckCitizenID and returns the Person to put
// in a record together with a fresh DataKey drawn from rnd (crypto/rand.Reader
// in production). The caller stores the DataKey outside the ledger.
func SealPerson(k MatchKey, id, name string, rnd io.Reader) (Person, DataKey, error) {
	return SealPersonHashed(k.HashID(id), id, name, rnd)
}

// SealPersonHashed is SealPerson for a caller that does not hold the match
// key: idHash is HashID of id as the region node computed it on request
// (POST /v1/persons/hash; agencies never hold the key, docs/PRIVACY.md).
func SealPersonHashed(idHash, id, name string, rnd io.Reader) (Person, DataKey, error) {
	var dk DataKey
	id = NormalizeCitizenID(id)
	if err := CheckCitizenID(id); err != nil {
		return Person{}, dk, fmt.Errorf("seal person: %w", err)
	}
	if !IsIDHash(idHash) {
		return Person{}, dk, errors.New("seal person: id hash is not of the form h1:<64 hex>")
	}
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) {
		return Person{}, dk, errors.New("seal person: name is empty or not valid UTF-8")
	}
	if _, err := io.ReadFull(rnd, dk[:]); err != nil {
		return Person{}, DataKey{}, fmt.Errorf("seal person: data key: %w", err)
	}
	p := Person{IDHash: idHash, IDMasked: MaskCitizenID(id), NameMasked: MaskName(name)}
	gcm, err := newGCM(dk)
	if err != nil {
		return Person{}, DataKey{}, err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+128)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return Person{}, DataKey{}, fmt.Errorf("seal person: nonce: %w", err)
	}
	pt, err := json.Marshal(sealedPayload{ID: id, Name: name})
	if err != nil {
		return Person{}, DataKey{}, fmt.Errorf("seal person: %w", err)
	}
	ct := gcm.Seal(nonce, nonce, pt, []byte(sealAADPrefix+p.IDHash))
	p.Sealed = base64.StdEncoding.EncodeToString(ct)
	return p, dk, nil
}

func newGCM(dk DataKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dk[:])
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}

// OpenPerson decrypts p.Sealed with dk and returns the citizen ID and name.
// It fails with ErrSealed if the key is wrong or the data was altered, and
// with a plain error if p has no sealed payload.
func OpenPerson(p Person, dk DataKey) (id, name string, err error) {
	if p.Sealed == "" {
		return "", "", errors.New("open person: no sealed payload")
	}
	raw, err := base64.StdEncoding.DecodeString(p.Sealed)
	if err != nil {
		return "", "", fmt.Errorf("open person: sealed: %w", err)
	}
	gcm, err := newGCM(dk)
	if err != nil {
		return "", "", err
	}
	if len(raw) < gcm.NonceSize()+gcm.Overhead() {
		return "", "", fmt.Errorf("open person: %w: payload too short", ErrSealed)
	}
	pt, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(sealAADPrefix+p.IDHash))
	if err != nil {
		return "", "", fmt.Errorf("open person: %w", ErrSealed)
	}
	var sp sealedPayload
	if err := json.Unmarshal(pt, &sp); err != nil {
		return "", "", fmt.Errorf("open person: payload: %w", err)
	}
	return sp.ID, sp.Name, nil
}
