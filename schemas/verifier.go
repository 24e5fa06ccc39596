package schemas

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

// Verifier is an Ed25519 public key prepared for checking many entries:
// its key id is computed, its point decoded and a table of its multiples
// built once (~1 ms, 96 KiB; fixedbase.go), where Signed.Verify decodes the
// point for every entry and multiplies by doubling: a verification costs
// about 40% of Signed.Verify's (BenchmarkVerify). Verify accepts and
// refuses exactly what Signed.Verify does (crypto/ed25519's strict,
// cofactorless RFC 8032 check: S below the group order, [S]B - [k]A
// encoding to R's exact bytes), with the same errors;
// TestVerifierAgreesWithVerify compares the two on valid, spoiled and
// non-canonical signatures and on keys that do not decode, and
// TestFixedBaseAgrees the table arithmetic with filippo.io/edwards25519's.
// A Verifier is immutable and safe for concurrent use.
type Verifier struct {
	pub    ed25519.PublicKey
	id     string
	minusA *edwards25519.Point // nil: pub is not a valid key (every Verify fails as crypto/ed25519 does)
	table  *fixedTable         // multiples of minusA (fixedbase.go); nil when minusA is
}

// NewVerifier prepares pub. A key that crypto/ed25519 cannot use still gives
// a Verifier, whose Verify fails as Signed.Verify would.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	v := &Verifier{pub: bytes.Clone(pub)}
	if len(pub) != ed25519.PublicKeySize {
		return v
	}
	v.id = KeyID(pub)
	if a, err := new(edwards25519.Point).SetBytes(pub); err == nil {
		v.minusA = new(edwards25519.Point).Negate(a)
		v.table = newFixedTable(v.minusA, keyWindow)
	}
	return v
}

// Verify is s.Verify(pub) for the Verifier's key.
func (v *Verifier) Verify(s *Signed) error {
	if len(v.pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify: public key is %d bytes, want %d", len(v.pub), ed25519.PublicKeySize)
	}
	if v.id != s.KeyID {
		return fmt.Errorf("verify: entry is signed by key %s, not %s", s.KeyID, v.id)
	}
	if !v.verify(s.Record, s.Sig) {
		return fmt.Errorf("verify: key %s: %w", s.KeyID, ErrBadSignature)
	}
	return nil
}

// verify is crypto/ed25519.Verify(pub, recordDomain || record, sig) with
// the key decoded beforehand; the message is hashed in parts, not copied.
func (v *Verifier) verify(record, sig []byte) bool {
	if v.minusA == nil || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(v.pub)
	h.Write([]byte(recordDomain))
	h.Write(record)
	var digest [sha512.Size]byte
	k, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false // cannot happen: the digest is 64 bytes
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	// [S]B = R + [k]A  <=>  [k](-A) + [S]B = R, compared as encodings; both
	// multiples from precomputed tables (fixedbase.go), no doublings.
	R, ok := fixedDoubleBaseEncoding(v.table, k, S)
	return ok && bytes.Equal(sig[:32], R)
}

// VerifyKey is s.Verify(pub) for a key of this keyring, with the key
// prepared once (Verifier) and kept for later entries. pub must be the
// Public of a KeyInfo this keyring returned; any other key is checked with
// Signed.Verify and not kept, so the cache holds at most one Verifier per
// key of the keyring.
func (k *Keyring) VerifyKey(s *Signed, pub ed25519.PublicKey) error {
	k.mu.RLock()
	v := k.verifiers[string(pub)]
	k.mu.RUnlock()
	if v != nil {
		return v.Verify(s)
	}
	if !k.holds(pub) {
		return s.Verify(pub)
	}
	v = NewVerifier(pub)
	k.mu.Lock()
	if k.verifiers == nil {
		k.verifiers = map[string]*Verifier{}
	}
	k.verifiers[string(pub)] = v
	k.mu.Unlock()
	return v.Verify(s)
}

// holds reports whether pub is the public key of a key of the keyring.
func (k *Keyring) holds(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	info, ok := k.keys[KeyID(pub)]
	return ok && bytes.Equal(info.Public, pub)
}
