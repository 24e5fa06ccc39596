package schemas

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"filippo.io/edwards25519"
)

// TestVerifierAgreesWithVerify: Verifier.Verify and Keyring.VerifyKey give
// exactly Signed.Verify's answer (nil, or the same error text) for a valid
// signature, each spoiled byte position of it, an S not below the group
// order, the wrong key, a key of the wrong length, a key that is not a
// point, and a small-order key.
func TestVerifierAgreesWithVerify(t *testing.T) {
	pub, priv := testKey(1)
	pub2, _ := testKey(2)
	entry, err := Sign(sampleFeedback(), priv)
	if err != nil {
		t.Fatal(err)
	}
	good, err := ParseSigned(entry)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*Signed
	cases = append(cases, good)
	for _, i := range []int{0, 1, 31, 32, 33, 62, 63} {
		c := *good
		c.Sig = append([]byte(nil), good.Sig...)
		c.Sig[i] ^= 0x01
		cases = append(cases, &c)
	}
	// S + L: the same point equation, S not canonical (refused strictly).
	c := *good
	c.Sig = append([]byte(nil), good.Sig...)
	s, err := edwards25519.NewScalar().SetCanonicalBytes(good.Sig[32:])
	if err != nil {
		t.Fatal(err)
	}
	addL(c.Sig[32:], s.Bytes())
	cases = append(cases, &c)
	// Other record, same signature.
	c2 := *good
	c2.Record = append(append([]byte(nil), good.Record[:len(good.Record)-1]...), ' ', '}')
	cases = append(cases, &c2)
	// R not canonical: y + p for a small y is unlikely to decode; use all-ones.
	c3 := *good
	c3.Sig = append([]byte(nil), good.Sig...)
	for i := 0; i < 32; i++ {
		c3.Sig[i] = 0xff
	}
	cases = append(cases, &c3)

	smallOrder := make([]byte, 32) // the identity's encoding is y = 1
	smallOrder[0] = 1
	notPoint := make([]byte, 32)
	notPoint[0] = 2 // y = 2 is not on the curve
	keys := []ed25519.PublicKey{pub, pub2, pub[:31], notPoint, smallOrder}
	kr, err := NewKeyring([]Anchor{{KeyID: KeyID(pub), Public: pub, Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for ki, key := range keys {
		v := NewVerifier(key)
		for ci, sc := range cases {
			if key != nil && len(key) == 32 {
				sc2 := *sc
				sc2.KeyID = KeyID(key) // reach the signature check for every key
				if ki == 0 {
					sc2.KeyID = sc.KeyID
				}
				sc = &sc2
			}
			want := sc.Verify(key)
			for name, got := range map[string]error{"Verifier": v.Verify(sc), "VerifyKey": kr.VerifyKey(sc, key), "VerifyKey again": kr.VerifyKey(sc, key)} {
				if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) || errors.Is(got, ErrBadSignature) != errors.Is(want, ErrBadSignature) {
					t.Errorf("key %d case %d %s: %v, Signed.Verify: %v", ki, ci, name, got, want)
				}
			}
			if want == nil {
				accepted++
			}
		}
	}
	if accepted != 1 {
		t.Errorf("%d (key, case) pairs verified, want exactly the valid one", accepted)
	}
	if n := len(kr.verifiers); n != 1 {
		t.Errorf("keyring keeps %d verifiers, want 1 (only its own key)", n)
	}
}

// addL sets out (32 bytes, little-endian) to s + L, the group order.
func addL(out, s []byte) {
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	carry := 0
	for i := range 32 {
		v := int(s[i]) + int(l[i]) + carry
		out[i] = byte(v)
		carry = v >> 8
	}
}

func BenchmarkVerify(b *testing.B) {
	pub, priv := testKey(1)
	entry, err := Sign(sampleFeedback(), priv)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := ParseSigned(entry)
	b.Run("Signed.Verify", func(b *testing.B) {
		for b.Loop() {
			if err := s.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	v := NewVerifier(pub)
	b.Run("Verifier", func(b *testing.B) {
		for b.Loop() {
			if err := v.Verify(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
