package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"testing"

	"filippo.io/edwards25519"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/schemas"
)

// resign signs the record of entry again with priv, with a fresh random
// Ed25519 nonce instead of RFC 8032's deterministic one: a valid signature
// of the same message that differs from the first.
func resign(t *testing.T, entry []byte, priv ed25519.PrivateKey) []byte {
	t.Helper()
	s, err := schemas.ParseSigned(entry)
	if err != nil {
		t.Fatal(err)
	}
	msg := append([]byte("creditx/record/v1\n"), s.Record...)
	h := sha512.Sum512(priv.Seed())
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	var rb [64]byte
	rand.Read(rb[:])
	r, _ := edwards25519.NewScalar().SetUniformBytes(rb[:])
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	kh := sha512.New()
	kh.Write(R)
	kh.Write(priv.Public().(ed25519.PublicKey))
	kh.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(kh.Sum(nil))
	S := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	sig := append(R, S.Bytes()...)
	if !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatal("re-signed signature does not verify")
	}
	out := []byte(`{"key":"` + s.KeyID + `","record":` + string(s.Record) + `,"sig":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
	if string(out) == string(entry) {
		t.Fatal("re-signing gave the same entry")
	}
	return out
}

// TestDrillReSignedDuplicate: the same listing re-signed with fresh nonces
// (three distinct valid entries) is written once: every copy answers with
// the first receipt (same index and leaf hash, duplicate), and no more
// notices are issued (issue 11 item 5).
func TestDrillReSignedDuplicate(t *testing.T) {
	tn := startNode(t)
	ctx := context.Background()
	pub := tn.creds["publisher"]
	first := tn.listing(t, 8, nil)
	rs, err := pub.Submit(ctx, tn.url, first)
	if err != nil {
		t.Fatal(err)
	}
	size := tn.settledSize(t)
	var notices []node.NoticeView
	getNotices(ctx, tn.creds["executor"], tn.url+"/v1/notices?state=all", &notices)
	if len(notices) == 0 {
		t.Fatal("no notices for the listing")
	}
	for range 2 {
		again := resign(t, first, pub.SignKey)
		got, err := pub.Submit(ctx, tn.url, again)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Index != rs[0].Index || got[0].LeafHash != rs[0].LeafHash || !got[0].Duplicate {
			t.Fatalf("re-signed copy answered index %d leaf %s duplicate %v, want the first receipt (index %d leaf %s)",
				got[0].Index, got[0].LeafHash, got[0].Duplicate, rs[0].Index, rs[0].LeafHash)
		}
	}
	if s := tn.settledSize(t); s != size {
		t.Fatalf("ledger grew from %d to %d on re-signed copies", size, s)
	}
	var after []node.NoticeView
	getNotices(ctx, tn.creds["executor"], tn.url+"/v1/notices?state=all", &after)
	if len(after) != len(notices) {
		t.Fatalf("%d notices after re-signed copies, want %d", len(after), len(notices))
	}
}
