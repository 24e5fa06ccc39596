package schemas

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// batchVerify checks the signatures of items as one Ed25519 batch with the
// equation of ed25519consensus.BatchVerifier (ZIP 215, cofactored):
//
//	[8]( [-sum(z_i*s_i)]B + sum([z_i]R_i) + sum([z_i*k_i]A_i) ) = 0
//
// with one difference in how it is computed, not in what it accepts: the
// terms of items signed by the same key are summed into one scalar per key
// (sum over the key's items of z_i*k_i, times A), so a ledger whose entries
// come from a few agency keys decompresses each key once and the
// multi-scalar multiplication has n+keys+1 points instead of 2n+1. The sum
// is the same group element, so the batch accepts exactly when
// ed25519consensus's does. It reports whether every signature verified;
// on false the caller checks each one alone to find which failed. Items
// must have a 32-byte key (VerifyBatch checks it first).
func batchVerify(items []SigCheck) bool {
	n := len(items)
	if n == 0 {
		return false
	}
	zs := make([]byte, 16*n)
	if _, err := rand.Read(zs); err != nil {
		return false
	}
	keyAt := make(map[[32]byte]int, 4)
	var keys []*edwards25519.Point
	var keyCoeffs []*edwards25519.Scalar
	scalars := make([]*edwards25519.Scalar, 1, 1+n+4)
	points := make([]*edwards25519.Point, 1, 1+n+4)
	svals := make([]edwards25519.Scalar, 1+n)
	pvals := make([]edwards25519.Point, n)
	bcoeff := &svals[0]
	scalars[0], points[0] = bcoeff, edwards25519.NewGeneratorPoint()
	var zbuf [32]byte
	var digest [64]byte
	var s, k, zk edwards25519.Scalar
	h := sha512.New()
	for i, it := range items {
		sig := it.S.Sig
		if len(sig) != ed25519.SignatureSize || len(it.Pub) != ed25519.PublicKeySize {
			return false
		}
		var pk [32]byte
		copy(pk[:], it.Pub)
		ki, ok := keyAt[pk]
		if !ok {
			a, err := new(edwards25519.Point).SetBytes(pk[:])
			if err != nil {
				return false
			}
			ki = len(keys)
			keyAt[pk] = ki
			keys = append(keys, a)
			keyCoeffs = append(keyCoeffs, edwards25519.NewScalar())
		}
		r := &pvals[i]
		if _, err := r.SetBytes(sig[:32]); err != nil {
			return false
		}
		z := &svals[1+i]
		copy(zbuf[:16], zs[16*i:16*i+16])
		if _, err := z.SetCanonicalBytes(zbuf[:]); err != nil {
			return false
		}
		if _, err := s.SetCanonicalBytes(sig[32:]); err != nil {
			return false
		}
		bcoeff.MultiplyAdd(z, &s, bcoeff)
		h.Reset()
		h.Write(sig[:32])
		h.Write(pk[:])
		h.Write([]byte(recordDomain))
		h.Write(it.S.Record)
		h.Sum(digest[:0])
		if _, err := k.SetUniformBytes(digest[:]); err != nil {
			return false
		}
		zk.Multiply(z, &k)
		keyCoeffs[ki].Add(keyCoeffs[ki], &zk)
		scalars = append(scalars, z)
		points = append(points, r)
	}
	bcoeff.Negate(bcoeff)
	scalars = append(scalars, keyCoeffs...)
	points = append(points, keys...)
	check := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	check.MultByCofactor(check)
	return check.Equal(edwards25519.NewIdentityPoint()) == 1
}
