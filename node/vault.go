package node

// The data-key vault: the per-record keys (schemas.DataKey) that open the
// sealed persons of this region's ledger entries, held outside the ledger so
// that destroying them is a legal deletion that leaves the ledger verifiable
// (DESIGN.md section 6; node/DESIGN.md "Data-key vault").
//
// Guarantees: a key is stored only wrapped under the region's vault key
// (keys/vault.key, the same on every replica), replicated through raft (ops 6
// and 7 of command.go) and applied by the FSM into the bucket "vault" of
// ledger.db in the same transaction as the applied index, so it survives a
// restart and reaches every replica. The FSM never sees a plaintext data key
// and does not need the vault key: wrapping is deterministic (the nonce is
// derived from the key being wrapped), so "the same key again" and "another
// key" are byte comparisons that every replica decides alike.
//
// Erasure: an erasure deletes the wrapped keys from ledger.db; copies remain
// in raft log segments, snapshots and freed pages, wrapped under the vault
// key of their time, which the erasure destroys by ratcheting the key
// (vault_ratchet.go).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// bucketVault is the FSM's vault bucket in ledger.db. Changing it breaks
// existing data directories.
//
// Keys and values:
//
//	origin || 0x00 || uint64 BE index || path -> wrapped data key (vaultSealer.wrap)
//	origin || 0x00 || uint64 BE index         -> uint64 BE unix nanoseconds (raft time) of the erasure
//
// The second form, with an empty path, is the tombstone of a legal erasure:
// once present, the entry's keys are gone and no key may be stored again.
const bucketVault = "vault"

// vaultKeyLen is the length of the region's vault key, stored as hex in
// keys/vault.key (Config.VaultKey).
const vaultKeyLen = 32

// VaultKeyLen is vaultKeyLen, for provisioning (package provision writes
// the key file).
const VaultKeyLen = vaultKeyLen

// Domain separation for the two subkeys derived from the vault key and for
// the wrapping's additional data. Versioning: another wrapping scheme gets
// "/v2" labels and a new command op.
const (
	vaultEncLabel   = "creditx/vault/enc/v1"
	vaultNonceLabel = "creditx/vault/nonce/v1"
	vaultAADPrefix  = "creditx/vault/wrap/v1\n"
)

// vaultSealer wraps and unwraps data keys under the region's vault key.
// It is immutable and safe for concurrent use.
type vaultSealer struct {
	aead     cipher.AEAD
	nonceKey []byte
}

func newVaultSealer(k []byte) (*vaultSealer, error) {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(sub(vaultEncLabel))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &vaultSealer{aead: aead, nonceKey: sub(vaultNonceLabel)}, nil
}

// vaultAAD binds a wrapped key to its place:
//
//	"creditx/vault/wrap/v1\n" || uvarint len(origin) || origin || uint64 BE index || path
func vaultAAD(origin string, index uint64, path string) []byte {
	b := []byte(vaultAADPrefix)
	b = binary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = binary.BigEndian.AppendUint64(b, index)
	return append(b, path...)
}

// wrap returns nonce(12) || AES-256-GCM(encKey, nonce, dk, aad): 60 bytes,
// where nonce is the first 12 bytes of HMAC-SHA256(nonceKey, aad || dk). The
// same key at the same place always wraps to the same bytes (synthetic-IV
// style); that reveals only equality, which the FSM needs for idempotence.
func (v *vaultSealer) wrap(origin string, index uint64, path string, dk schemas.DataKey) []byte {
	aad := vaultAAD(origin, index, path)
	m := hmac.New(sha256.New, v.nonceKey)
	m.Write(aad)
	m.Write(dk[:])
	nonce := m.Sum(nil)[:v.aead.NonceSize()]
	return v.aead.Seal(append([]byte(nil), nonce...), nonce, dk[:], aad)
}

// unwrap reverses wrap; it fails if the wrapped key was made under another
// vault key or for another place.
func (v *vaultSealer) unwrap(origin string, index uint64, path string, w []byte) (schemas.DataKey, error) {
	var dk schemas.DataKey
	ns := v.aead.NonceSize()
	if len(w) < ns {
		return dk, errors.New("vault: wrapped key too short")
	}
	pt, err := v.aead.Open(nil, w[:ns], w[ns:], vaultAAD(origin, index, path))
	if err != nil || len(pt) != len(dk) {
		return dk, errors.New("vault: the vault key does not open the stored key (do all replicas hold the same keys/vault.key?)")
	}
	copy(dk[:], pt)
	return dk, nil
}

// sealedPersons returns the sealed persons a record names, by JSON path
// inside the record. Only listings carry sealed persons.
func sealedPersons(rec schemas.Record) map[string]schemas.Person {
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

// Results of vault commands that the FSM refuses (returned in applyResult.Err;
// the API maps them to 404, 409 and 410).
var (
	errVaultNoEntry = errors.New("vault: no such ledger entry")
	errVaultErased  = errors.New("vault: the personal data of this record was erased")
)

// VaultConflictError is the FSM's answer to a vault-put that would replace a
// stored key at Path with a different one; nothing of the command is stored.
type VaultConflictError struct{ Path string }

func (e *VaultConflictError) Error() string {
	return fmt.Sprintf("vault: a different key is already stored for %s", e.Path)
}

// applyVault applies ops 6-7. It depends only on the command and ledger.db
// (and the raft time for the tombstone), so every replica writes the same
// bytes. A returned error is a storage failure; a refused command is
// reported in the result with nothing written.
func (f *fsm) applyVault(tx *ledger.Tx, c command) (*applyResult, error) {
	r := &applyResult{Origin: c.origin, Indices: []uint64{c.index}}
	if c.index >= tx.Log(c.origin).Size() {
		r.Err = errVaultNoEntry
		return r, nil
	}
	b, err := tx.Bucket(bucketVault)
	if err != nil {
		return nil, err
	}
	prefix := entryKey(c.origin, c.index)
	tomb := b.Get(prefix)
	switch c.op {
	case opVaultPut:
		if tomb != nil {
			r.Err = errVaultErased
			return r, nil
		}
		epoch := vaultEpoch(b.Get)
		for _, k := range c.keys {
			if e, _ := wrappedEpoch(k.wrapped); e != epoch {
				r.Err = errVaultEpoch
				return r, nil
			}
		}
		seen := map[string][]byte{}
		for _, k := range c.keys {
			old := seen[k.path]
			if old == nil {
				old = b.Get(append(prefix[:len(prefix):len(prefix)], k.path...))
			}
			if old != nil && !bytes.Equal(old, k.wrapped) {
				r.Err = &VaultConflictError{Path: k.path}
				return r, nil
			}
			if old == nil {
				r.Vault++
			}
			seen[k.path] = k.wrapped
		}
		for _, k := range c.keys {
			if err := b.Put(append(prefix[:len(prefix):len(prefix)], k.path...), k.wrapped); err != nil {
				return nil, err
			}
		}
	case opVaultErase:
		// Idempotent: erasing again destroys nothing more and keeps the
		// first tombstone.
		var doomed [][]byte
		cur := b.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if len(k) > len(prefix) {
				doomed = append(doomed, append([]byte(nil), k...))
			}
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return nil, err
			}
		}
		r.Vault = len(doomed)
		if tomb == nil || len(doomed) > 0 {
			// The first erasure of an entry moves the vault key on.
			if f.vaultEpoch, err = f.ratchetVault(b); err != nil {
				return nil, err
			}
		}
		if tomb == nil {
			if err := b.Put(prefix, binary.BigEndian.AppendUint64(nil, uint64(f.now.UnixNano()))); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// vaultEntry is what the vault holds for one ledger entry.
type vaultEntry struct {
	erased  bool
	wrapped map[string][]byte // path -> wrapped key; copies, valid after the transaction
}

// readVault returns the vault's state for entry index of origin.
func readVault(tx *ledger.ReadTx, origin string, index uint64) vaultEntry {
	ve := vaultEntry{wrapped: map[string][]byte{}}
	b := tx.Bucket(bucketVault)
	if b == nil {
		return ve
	}
	prefix := entryKey(origin, index)
	cur := b.Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		if len(k) == len(prefix) {
			ve.erased = true
			continue
		}
		ve.wrapped[string(k[len(prefix):])] = append([]byte(nil), v...)
	}
	return ve
}
