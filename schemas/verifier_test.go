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

// TestFixedBaseAgrees: the table-based [k]P + [s]B equals
// VarTimeDoubleScalarBaseMult's, P's table of each digit width 4-8, for
// random scalars, the scalars 0, 1, L-1
// and 2^252 (digit carries), for a random point, the generator and a point
// with a small-order component.
func TestFixedBaseAgrees(t *testing.T) {
	rnd := func(i int) *edwards25519.Scalar {
		var b [64]byte
		for j := range b {
			b[j] = byte(i*131 + j*7 + j*j)
		}
		s, err := edwards25519.NewScalar().SetUniformBytes(b[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	lMinus1 := [32]byte{0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	two252 := [32]byte{31: 0x10}
	all8 := [32]byte{}
	for i := range all8 {
		all8[i] = 0x88 // digits of 8: the recentring carries through all of them
	}
	all8[31] = 0x08 // below L
	var special []*edwards25519.Scalar
	for _, b := range [][32]byte{{}, {0: 1}, lMinus1, two252, all8} {
		s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
		if err != nil {
			t.Fatal(err)
		}
		special = append(special, s)
	}
	// A key, and a point of order 8 (added to the key: not in the
	// prime-order subgroup).
	a, torsion := keyAndTorsion(t, 3)
	mixed := new(edwards25519.Point).Add(a, torsion)
	for pi, p := range []*edwards25519.Point{a, edwards25519.NewGeneratorPoint(), mixed, torsion} {
		for _, w := range []uint{4, keyWindow, 6, 7, baseWindow} {
			table := newFixedTable(p, w)
			var scalars [][2]*edwards25519.Scalar
			for i := range 40 {
				scalars = append(scalars, [2]*edwards25519.Scalar{rnd(i), rnd(i + 1000)})
			}
			for _, x := range special {
				for _, y := range special {
					scalars = append(scalars, [2]*edwards25519.Scalar{x, y})
				}
			}
			for si, ks := range scalars {
				want := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(ks[0], p, ks[1]).Bytes()
				got, ok := fixedDoubleBaseEncoding(table, ks[0], ks[1])
				if !ok || string(got) != string(want) {
					t.Errorf("point %d window %d scalars %d: %x, want %x", pi, w, si, got, want)
				}
			}
		}
	}
}

// BenchmarkNewVerifier: preparing a key, its table included (once per key
// of the keyring).
func BenchmarkNewVerifier(b *testing.B) {
	pub, _ := testKey(1)
	for b.Loop() {
		NewVerifier(pub)
	}
}

// FuzzFixedBaseAgrees: for any two scalars (64 fuzzed bytes each, reduced
// mod L as a signature's k and S are), the table arithmetic of Verifier
// gives the encoding filippo.io/edwards25519 gives for [k]A + [S]B, for a
// key and for the same key with an order-8 component. A mismatch here would
// make admission accept or refuse what crypto/ed25519 does not.
func FuzzFixedBaseAgrees(f *testing.F) {
	f.Add(make([]byte, 64), make([]byte, 64))
	f.Add(bytesOf(0xff, 64), bytesOf(0x88, 64))
	f.Add(bytesOf(0x01, 64), bytesOf(0x7f, 64))
	a, torsion := keyAndTorsion(f, 5)
	points := []*edwards25519.Point{a, new(edwards25519.Point).Add(a, torsion)}
	tables := []*fixedTable{newFixedTable(points[0], keyWindow), newFixedTable(points[1], keyWindow)}
	f.Fuzz(func(t *testing.T, kb, sb []byte) {
		var k64, s64 [64]byte
		copy(k64[:], kb)
		copy(s64[:], sb)
		k, err := edwards25519.NewScalar().SetUniformBytes(k64[:])
		if err != nil {
			t.Fatal(err)
		}
		s, err := edwards25519.NewScalar().SetUniformBytes(s64[:])
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range points {
			want := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, p, s).Bytes()
			got, ok := fixedDoubleBaseEncoding(tables[i], k, s)
			if !ok || string(got) != string(want) {
				t.Fatalf("point %d, k %x, S %x: %x, want %x", i, k.Bytes(), s.Bytes(), got, want)
			}
		}
	})
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// keyAndTorsion returns test key i as a point and a point of order 8.
func keyAndTorsion(tb testing.TB, i byte) (key, torsion *edwards25519.Point) {
	tb.Helper()
	pub, _ := testKey(i)
	key, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		tb.Fatal(err)
	}
	torsion, err = new(edwards25519.Point).SetBytes([]byte{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05})
	if err != nil {
		tb.Fatal(err)
	}
	return key, torsion
}
