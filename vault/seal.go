package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/schemas"
)

// Bucket is the vault's bucket in ledger.db. Changing it breaks existing
// data directories.
//
// Keys and values:
//
//	origin || 0x00 || uint64 BE index || path -> wrapped data key (State.Wrap)
//	origin || 0x00 || uint64 BE index         -> uint64 BE unix nanoseconds (raft time) of the erasure
//	0x00 "epoch"                              -> uint64 BE vault-key epoch (absent: 0)
//
// The second form, with an empty path, is the tombstone of a legal erasure:
// once present, the entry's keys are gone and no key may be stored again.
// The entry prefix (origin || 0x00 || uint64 BE index) is the same as the
// ledger's entry keys elsewhere in ledger.db (exchange.EntryKey); origins
// never start with 0x00, so the epoch key cannot collide with an entry.
const Bucket = "vault"

// KeyLen is the length of the region's vault key, stored as hex in
// keys/vault.key (node Config.VaultKey).
const KeyLen = 32

// Domain separation for the two subkeys derived from the vault key and for
// the wrapping's additional data. Versioning: another wrapping scheme gets
// "/v2" labels and a new command op.
const (
	encLabel   = "creditx/vault/enc/v1"
	nonceLabel = "creditx/vault/nonce/v1"
	aadPrefix  = "creditx/vault/wrap/v1\n"
)

// sealer wraps and unwraps data keys under one vault key.
// It is immutable and safe for concurrent use.
type sealer struct {
	aead     cipher.AEAD
	nonceKey []byte
}

func newSealer(k []byte) (*sealer, error) {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(sub(encLabel))
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &sealer{aead: aead, nonceKey: sub(nonceLabel)}, nil
}

// aad binds a wrapped key to its place:
//
//	"creditx/vault/wrap/v1\n" || uvarint len(origin) || origin || uint64 BE index || path
func aad(origin string, index uint64, path string) []byte {
	b := []byte(aadPrefix)
	b = binary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = binary.BigEndian.AppendUint64(b, index)
	return append(b, path...)
}

// wrap returns nonce(12) || AES-256-GCM(encKey, nonce, dk, aad): 60 bytes,
// where nonce is the first 12 bytes of HMAC-SHA256(nonceKey, aad || dk). The
// same key at the same place always wraps to the same bytes (synthetic-IV
// style); that reveals only equality, which the FSM needs for idempotence.
func (v *sealer) wrap(origin string, index uint64, path string, dk schemas.DataKey) []byte {
	ad := aad(origin, index, path)
	m := hmac.New(sha256.New, v.nonceKey)
	m.Write(ad)
	m.Write(dk[:])
	nonce := m.Sum(nil)[:v.aead.NonceSize()]
	return v.aead.Seal(append([]byte(nil), nonce...), nonce, dk[:], ad)
}

// unwrap reverses wrap; it fails if the wrapped key was made under another
// vault key or for another place.
func (v *sealer) unwrap(origin string, index uint64, path string, w []byte) (schemas.DataKey, error) {
	var dk schemas.DataKey
	ns := v.aead.NonceSize()
	if len(w) < ns {
		return dk, errors.New("vault: wrapped key too short")
	}
	pt, err := v.aead.Open(nil, w[:ns], w[ns:], aad(origin, index, path))
	if err != nil || len(pt) != len(dk) {
		return dk, errors.New("vault: the vault key does not open the stored key (do all replicas hold the same keys/vault.key?)")
	}
	copy(dk[:], pt)
	return dk, nil
}

// SealedPersons returns the sealed persons a record names, by JSON path
// inside the record (the path a key is stored under). Only listings carry
// sealed persons.
func SealedPersons(rec schemas.Record) map[string]schemas.Person {
	out := map[string]schemas.Person{}
	if l, ok := rec.(*schemas.Listing); ok {
		if p := l.Subject.Person; p != nil && p.Sealed != "" {
			out["subject.person"] = *p
		}
		for i, rp := range l.Subject.ResponsiblePersons {
			if rp.Person.Sealed != "" {
				out[fmt.Sprintf("subject.responsible_persons[%d].person", i)] = rp.Person
			}
		}
	}
	return out
}
