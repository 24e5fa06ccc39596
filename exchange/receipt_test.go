package exchange

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// receiptFixture is a 2-of-4 witness policy over four external witnesses
// and a 5-entry log of member 310000, with every signing key known.
type receiptFixture struct {
	m       *Manifest
	logS    note.Signer
	wit     []*Cosigner // the four policy witnesses
	entries [][]byte
	hashes  []tlog.Hash // stored hashes of the tree
}

func newReceiptFixture(t testing.TB) *receiptFixture {
	t.Helper()
	m := testManifest(t, "310000", "320000", "330000")
	logSkey, logVKey, err := ledger.GenerateKey(schemas.LedgerOrigin("310000"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m.Members[0].LogVKey = logVKey
	fx := &receiptFixture{}
	fx.logS, _ = note.NewSigner(logSkey)
	var pol strings.Builder
	for i := 1; i <= 4; i++ {
		sk, vk := witnessVKey(t, fmt.Sprintf("w%d.example/witness", i))
		cs, err := NewCosigner(sk)
		if err != nil {
			t.Fatal(err)
		}
		fx.wit = append(fx.wit, cs)
		fmt.Fprintf(&pol, "witness w%d %s https://w%d.example/\n", i, vk, i)
	}
	pol.WriteString("group two 2 w1 w2 w3 w4\nquorum two\n")
	m.WitnessPolicy = pol.String()
	if fx.m, err = ParseManifest(encode(t, m)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		e := []byte(fmt.Sprintf(`{"entry":%d}`, i))
		fx.entries = append(fx.entries, e)
		hs, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(fx.readHashes))
		if err != nil {
			t.Fatal(err)
		}
		fx.hashes = append(fx.hashes, hs...)
	}
	return fx
}

func (fx *receiptFixture) readHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = fx.hashes[x]
	}
	return out, nil
}

// receipt is the tlog-proof of entry index cosigned by the first n witnesses.
func (fx *receiptFixture) receipt(t testing.TB, index int64, n int) []byte {
	t.Helper()
	hr := tlog.HashReaderFunc(fx.readHashes)
	size := int64(len(fx.entries))
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tlog.ProveRecord(size, index, hr)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ledger.SignCheckpoint(fx.logS, schemas.LedgerOrigin("310000"), uint64(size), root)
	if err != nil {
		t.Fatal(err)
	}
	n0, err := note.Open(signed, note.VerifierList(fx.m.Members[0].LogVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, w := range fx.wit[:n] {
		l, err := w.Cosign(n0)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	leaf := tlog.RecordHash(fx.entries[index])
	return ledger.FormatProof(ledger.Proof{Extra: leaf[:], Index: uint64(index), Hashes: p, Checkpoint: AddSignatures(signed, lines...)})
}

func receiptStep(err error) string {
	var re *ReceiptError
	if errors.As(err, &re) {
		return re.Step
	}
	return fmt.Sprintf("not a ReceiptError: %v", err)
}

// TestVerifyReceiptPolicy checks receipts against a 2-of-4 witness policy
// with 0, 1 and 2 valid cosignatures, and names the failing step for each
// kind of damage.
func TestVerifyReceiptPolicy(t *testing.T) {
	fx := newReceiptFixture(t)
	for n, want := range map[int]string{0: StepQuorum, 1: StepQuorum, 2: "", 3: "", 4: ""} {
		r, err := fx.m.VerifyReceipt(fx.receipt(t, 3, n))
		if want == "" {
			if err != nil {
				t.Fatalf("%d cosignatures: %v", n, err)
			}
			if r.Index != 3 || r.Member != "310000" || r.Size != 5 || len(r.Cosigners) != n {
				t.Fatalf("%d cosignatures: verified %+v", n, r)
			}
			for _, c := range r.Cosigners {
				if c.Time.IsZero() || !strings.HasPrefix(c.KeyName, "w") {
					t.Errorf("cosigner %+v has no timestamp or key name", c)
				}
			}
			continue
		}
		if got := receiptStep(err); got != want {
			t.Errorf("%d cosignatures: step %q (%v), want %q", n, got, err, want)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%d valid cosignatures", n)) {
			t.Errorf("%d cosignatures: error %q does not count them", n, err)
		}
	}
	good := fx.receipt(t, 3, 2)
	if _, err := fx.m.VerifyReceiptFor(good, fx.entries[3]); err != nil {
		t.Fatalf("with the record: %v", err)
	}
	if _, err := fx.m.VerifyReceiptFor(good, fx.entries[2]); receiptStep(err) != StepLeaf {
		t.Errorf("another record: %v", err)
	}
	// Every entry's receipt verifies (all proof shapes of a 5-leaf tree).
	for i := range fx.entries {
		if _, err := fx.m.VerifyReceipt(fx.receipt(t, int64(i), 2)); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	p, _ := ledger.ParseProof(good)
	flipSig := func(name string) []byte { // flip one byte of the named signature
		q := *p
		lines := strings.Split(string(q.Checkpoint), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "— "+name+" ") {
				b := []byte(l)
				if b[len(b)-5] == 'A' {
					b[len(b)-5] = 'B'
				} else {
					b[len(b)-5] = 'A'
				}
				lines[i] = string(b)
			}
		}
		q.Checkpoint = []byte(strings.Join(lines, "\n"))
		return ledger.FormatProof(q)
	}
	other := *p
	other.Index = 2
	otherLeaf := *p
	otherLeaf.Extra = make([]byte, 32)
	short := *p
	short.Extra = []byte("x")
	hashFlip := *p
	hashFlip.Hashes = append(tlog.RecordProof(nil), p.Hashes...)
	hashFlip.Hashes[0][0] ^= 1
	beyond := *p
	beyond.Index = 5
	for name, c := range map[string]struct {
		receipt []byte
		step    string
	}{
		"not a proof":        {[]byte("hello\n\nworld\n"), StepParse},
		"short extra":        {ledger.FormatProof(short), StepLeaf},
		"other index":        {ledger.FormatProof(other), StepInclusion},
		"other leaf":         {ledger.FormatProof(otherLeaf), StepInclusion},
		"proof hash flipped": {ledger.FormatProof(hashFlip), StepInclusion},
		"index beyond size":  {ledger.FormatProof(beyond), StepInclusion},
		"log signature":      {flipSig(schemas.LedgerOrigin("310000")), StepSignature},
		"cosignature":        {flipSig("w1.example/witness"), StepCosignature},
		"unknown origin":     {[]byte(strings.Replace(string(good), "creditx.310000/ledger\n5", "creditx.990000/ledger\n5", 1)), StepOrigin},
	} {
		if _, err := fx.m.VerifyReceipt(c.receipt); receiptStep(err) != c.step {
			t.Errorf("%s: step %q (%v), want %q", name, receiptStep(err), err, c.step)
		}
	}
}

// FuzzVerifyReceipt: whatever the bytes, VerifyReceipt returns a
// *ReceiptError or a receipt whose leaf really is in the signed tree.
func FuzzVerifyReceipt(f *testing.F) {
	fx := newReceiptFixture(f)
	f.Add(fx.receipt(f, 0, 2))
	f.Add(fx.receipt(f, 4, 1))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\nx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := fx.m.VerifyReceipt(b)
		if err != nil {
			var re *ReceiptError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ReceiptError", err)
			}
			return
		}
		p, err := ledger.ParseProof(b)
		if err != nil || len(r.Cosigners) < 2 {
			t.Fatalf("accepted %q: %v, %d cosigners", b, err, len(r.Cosigners))
		}
		if err := tlog.CheckRecord(p.Hashes, int64(r.Size), r.Root, int64(r.Index), r.LeafHash); err != nil {
			t.Fatalf("accepted a receipt whose proof fails: %v", err)
		}
	})
}
