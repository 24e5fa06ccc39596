package exchange

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestKeyVerifiersAgreeWithVerify: the custody check's kept keys accept and
// refuse what Signed.Verify does (a good entry, every spoiled signature byte
// tried, another key), keep one Verifier per key, and start over when full.
func TestKeyVerifiersAgreeWithVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	l, err := synth.Listing(1, synth.Options{Region: "330000", Authority: schemas.Agency{Name: "Publisher", USCC: "91330000MA27U00000"}, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, priv)
	if err != nil {
		t.Fatal(err)
	}
	good, err := schemas.ParseSigned(e)
	if err != nil {
		t.Fatal(err)
	}
	cases := []*schemas.Signed{good}
	for i := range good.Sig {
		c := *good
		c.Sig = append([]byte(nil), good.Sig...)
		c.Sig[i] ^= 0x01
		cases = append(cases, &c)
	}
	var kv keyVerifiers
	for round := 0; round < 2; round++ { // the second round from the kept Verifiers
		for i, s := range cases {
			for _, k := range []ed25519.PublicKey{pub, other} {
				want, got := s.Verify(k), kv.verify(s, k)
				if (want == nil) != (got == nil) {
					t.Fatalf("round %d case %d: Signed.Verify %v, kept key %v", round, i, want, got)
				}
			}
		}
	}
	if kv.verify(good, pub) != nil {
		t.Fatal("a good entry was refused")
	}
	if n := kv.size(); n != 2 {
		t.Fatalf("%d keys kept, want 2 (one per key)", n)
	}
	for i := 0; i < maxKeyVerifiers+1; i++ {
		k, _, _ := ed25519.GenerateKey(rand.Reader)
		if kv.verify(good, k) == nil {
			t.Fatal("an entry verified under a key that did not sign it")
		}
	}
	if n := kv.size(); n > maxKeyVerifiers {
		t.Fatalf("%d keys kept, more than the bound %d", n, maxKeyVerifiers)
	}
}
