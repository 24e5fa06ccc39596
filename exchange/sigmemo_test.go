package exchange

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/creditx/creditx/internal/cosig"
	"github.com/creditx/creditx/internal/sigmemo"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// cosigFixture is a parsed manifest of n members with the signing keys
// kept: member 0's log signer and every member's cosigner.
type cosigFixture struct {
	m         *Manifest
	code      string // member 0's
	log       note.Signer
	logV      note.Verifier // log's key without a memory (the fixture's own checks)
	cosigners []*Cosigner   // of members 1..n-1
}

func newCosigFixture(tb testing.TB, n int) *cosigFixture {
	tb.Helper()
	var codes []string
	for i := range n {
		codes = append(codes, fmt.Sprintf("%d", 310000+1000*i))
	}
	raw := testManifest(tb, codes...)
	fx := &cosigFixture{code: codes[0]}
	skey, vkey, err := ledger.GenerateKey(schemas.LedgerOrigin(codes[0]), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	raw.Members[0].LogVKey = vkey
	for i := range raw.Members {
		raw.Members[i].Endpoint = fmt.Sprintf("https://127.0.0.1:%d", 20000+i) // testManifest's run out past 9
	}
	if fx.log, err = note.NewSigner(skey); err != nil {
		tb.Fatal(err)
	}
	if fx.logV, err = note.NewVerifier(vkey); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < n; i++ {
		wskey, wvkey, err := GenerateWitnessKey(codes[i], rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		raw.Members[i].WitnessVKey = wvkey
		cs, err := NewCosigner(wskey)
		if err != nil {
			tb.Fatal(err)
		}
		fx.cosigners = append(fx.cosigners, cs)
	}
	raw.WitnessQuorum = 2
	if fx.m, err = ParseManifest(encode(tb, raw)); err != nil {
		tb.Fatal(err)
	}
	return fx
}

// checkpoint is member 0's checkpoint of size with the first k cosigners'
// lines.
func (fx *cosigFixture) checkpoint(tb testing.TB, size uint64, k int) []byte {
	tb.Helper()
	signed, err := ledger.SignCheckpoint(fx.log, schemas.LedgerOrigin(fx.code), size, tlog.Hash{byte(size)})
	if err != nil {
		tb.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(fx.logV))
	if err != nil {
		tb.Fatal(err)
	}
	for _, cs := range fx.cosigners[:k] {
		l, err := cs.Cosign(n)
		if err != nil {
			tb.Fatal(err)
		}
		signed = append(signed, l...)
	}
	return signed
}

// TestWitnessedRemembersAndRefusesForgeries: a checkpoint that gains a
// cosignature costs one new check (the manifest's keys remember the lines
// they accepted), and with every key's memory warm an altered cosignature,
// cosignatures moved onto another checkpoint and an altered log signature
// are still refused.
func TestWitnessedRemembersAndRefusesForgeries(t *testing.T) {
	fx := newCosigFixture(t, 4)
	stats := func() (checks, hits uint64) {
		for i := range fx.m.Members {
			for _, v := range []note.Verifier{fx.m.Members[i].LogVerifier(), fx.m.Members[i].WitnessVerifier()} {
				c, h := v.(*sigmemo.Verifier).Stats()
				checks, hits = checks+c, hits+h
			}
		}
		return checks, hits
	}

	two := fx.checkpoint(t, 5, 2)
	names, ok, err := fx.m.Witnessed(fx.code, two)
	if err != nil || !ok || len(names) != 2 {
		t.Fatalf("two cosignatures: %v %v %v", names, ok, err)
	}
	if c, h := stats(); c != 3 || h != 0 {
		t.Fatalf("first open: %d checks, %d from memory; want 3, 0", c, h)
	}
	three := fx.checkpoint(t, 5, 3)
	if !bytes.HasPrefix(three, two) {
		t.Fatal("fixture: the third cosignature is not appended to the same note")
	}
	names, ok, err = fx.m.Witnessed(fx.code, three)
	if err != nil || !ok || len(names) != 3 {
		t.Fatalf("three cosignatures: %v %v %v", names, ok, err)
	}
	if c, h := stats(); c != 4 || h != 3 {
		t.Fatalf("after one more cosignature: %d checks, %d from memory; want 4, 3", c, h)
	}
	if c, h := fx.m.sigStats(); c != 4 || h != 3 { // Work.SigLines, Work.SigRemembered
		t.Fatalf("Manifest.sigStats = %d, %d; want 4, 3", c, h)
	}

	// Every line of three is now remembered. Spoil each in turn (one bit
	// of each signature line's R flipped, spoilLines).
	spoilt := spoilLines(t, three)
	if len(spoilt) != 4 {
		t.Fatalf("%d signature lines spoilt, want 4", len(spoilt))
	}
	for i, bad := range spoilt {
		if _, _, err := fx.m.Witnessed(fx.code, bad); err == nil {
			t.Errorf("signature line %d altered: accepted with the memory warm", i)
		}
	}
	// The cosignatures moved onto another checkpoint of the same log.
	lines := bytes.SplitAfter(three, []byte("\n"))
	sigStart := len(lines) - 1 - 4 // four signature lines and the empty tail
	other := fx.checkpoint(t, 6, 0)
	moved := append(bytes.Clone(other), bytes.Join(lines[sigStart+1:], nil)...)
	if _, _, err := fx.m.Witnessed(fx.code, moved); err == nil {
		t.Error("cosignatures over size 5 accepted on size 6")
	}
	if names, ok, err := fx.m.Witnessed(fx.code, three); err != nil || !ok || len(names) != 3 {
		t.Fatalf("the good note after the forgeries: %v %v %v", names, ok, err)
	}
}

// BenchmarkCountCosignatures opens a checkpoint with 44 cosignatures (a
// member's ledger at 45 members): "plain" with verifiers that check every
// line (before sigmemo), "remembered" with the manifest's verifiers once
// they have seen every line. A checkpoint re-opened with one more
// cosignature costs "remembered" plus one line of "plain" (1/45 of it).
func BenchmarkCountCosignatures(b *testing.B) {
	fx := newCosigFixture(b, 45)
	signed := fx.checkpoint(b, 9, 44)
	logV := fx.m.Members[0].LogVerifier()
	ws := fx.m.WitnessVerifiers(fx.code)
	// The same keys parsed again, without a memory.
	plainLog := fx.logV
	var plainWs []note.Verifier
	for _, mb := range fx.m.Members[1:] {
		w, err := cosig.Parse(mb.WitnessVKey)
		if err != nil {
			b.Fatal(err)
		}
		plainWs = append(plainWs, w)
	}
	for _, c := range []struct {
		name string
		logV note.Verifier
		ws   []note.Verifier
	}{{"plain", plainLog, plainWs}, {"remembered", logV, ws}} {
		b.Run(c.name, func(b *testing.B) {
			if names, err := CountCosignatures(signed, c.logV, c.ws); err != nil || len(names) != 44 {
				b.Fatalf("%d names, %v", len(names), err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CountCosignatures(signed, c.logV, c.ws); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
