package exchange

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointCacheVerifiesOnce(t *testing.T) {
	const origin = "creditx.330000/ledger"
	skey, vkey, err := ledger.GenerateKey(origin, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	signed, err := ledger.SignCheckpoint(s, origin, 7, tlog.Hash{9})
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(signed)
	bad[len(bad)-20] ^= 1 // inside the signature's base64, away from its last character (whose low bits may be padding)

	var c CheckpointCache
	for round := 0; round < 3; round++ {
		cp, err := c.Open(signed, origin, v)
		if err != nil || cp.Size != 7 {
			t.Fatalf("round %d: Open = %v, %v", round, cp, err)
		}
		if _, err := c.Open(bad, origin, v); err == nil {
			t.Fatalf("round %d: a flipped signature opened", round)
		}
	}
	if got := c.Checks(); got != 2 {
		t.Errorf("%d signature checks for two distinct notes opened three times each, want 2", got)
	}
	// Another origin or key is another check, and it fails as it should.
	if _, err := c.Open(signed, "creditx.310000/ledger", v); err == nil {
		t.Error("opened under another origin")
	}
	_, other, _ := ledger.GenerateKey(origin, rand.Reader)
	ov, _ := note.NewVerifier(other)
	if _, err := c.Open(signed, origin, ov); err == nil {
		t.Error("opened with another key of the same name")
	}
	if got := c.Checks(); got != 4 {
		t.Errorf("%d checks, want 4", got)
	}

	// Witnessed: per manifest value; an error outcome is cached as an error.
	parsed := func() *Manifest {
		raw := testManifest(t, "310000", "320000", "330000")
		raw.WitnessQuorum = 2
		m, err := ParseManifest(encode(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := parsed()
	for i := 0; i < 3; i++ {
		if _, ok, err := c.Witnessed(m, "330000", signed); ok || err == nil {
			t.Fatalf("a note not signed by the manifest's log key: ok=%v err=%v", ok, err)
		}
	}
	if got := c.Checks(); got != 5 {
		t.Errorf("%d checks after three Witnessed calls, want 5", got)
	}
	m2 := parsed()
	c.Witnessed(m2, "330000", signed)
	if got := c.Checks(); got != 6 {
		t.Errorf("another manifest value was not checked again: %d checks", got)
	}
}

func TestCheckpointCacheBounded(t *testing.T) {
	const origin = "creditx.330000/ledger"
	skey, vkey, _ := ledger.GenerateKey(origin, rand.Reader)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	c := CheckpointCache{Max: 4}
	var notes [][]byte
	for i := uint64(1); i <= 6; i++ {
		n, _ := ledger.SignCheckpoint(s, origin, i, tlog.Hash{byte(i)})
		notes = append(notes, n)
		if _, err := c.Open(n, origin, v); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) != 4 || len(c.order) != 4 {
		t.Fatalf("cache holds %d entries (%d in order), want 4", len(c.m), len(c.order))
	}
	c.Open(notes[5], origin, v) // newest: a hit
	c.Open(notes[0], origin, v) // oldest: dropped, checked again
	if got := c.Checks(); got != 7 {
		t.Errorf("%d checks, want 7", got)
	}
}
