package sigmemo

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

const body = "example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

// keys returns a signed-note Ed25519 key pair and an Ed25519
// cosignature/v1 pair.
func keys(t testing.TB) (logS note.Signer, logV note.Verifier, wS note.Signer, wV note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	if logS, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if logV, err = note.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	if wS, err = fnote.NewSignerForCosignatureV1(wskey); err != nil {
		t.Fatal(err)
	}
	if wV, err = fnote.NewVerifierForCosignatureV1(wvkey); err != nil {
		t.Fatal(err)
	}
	return logS, logV, wS, wV
}

// spoilt returns variants of (msg, sig) that must all be refused: every
// bit of the signature flipped in turn, the message altered, truncated and
// extended, the signature truncated and extended.
func spoilt(msg, sig []byte) [][2][]byte {
	var out [][2][]byte
	for i := range len(sig) * 8 {
		s := bytes.Clone(sig)
		s[i/8] ^= 1 << (i % 8)
		out = append(out, [2][]byte{msg, s})
	}
	m := bytes.Clone(msg)
	m[len(m)/2] ^= 1
	out = append(out,
		[2][]byte{m, sig},
		[2][]byte{msg[:len(msg)-1], sig},
		[2][]byte{append(bytes.Clone(msg), 'x'), sig},
		[2][]byte{msg, sig[:len(sig)-1]},
		[2][]byte{msg, append(bytes.Clone(sig), 0)},
		// The split between message and signature moved by one byte.
		[2][]byte{append(bytes.Clone(msg), sig[0]), sig[1:]},
	)
	return out
}

// sigOf is the raw signature (after the 4-byte key hash) of s over msg.
func sigOf(t testing.TB, s note.Signer, msg string) []byte {
	t.Helper()
	signed, err := note.Sign(&note.Note{Text: msg}, s)
	if err != nil {
		t.Fatal(err)
	}
	raw := decode(t, string(bytes.Fields(lastLine(signed))[2]))
	return raw[4:]
}

func decode(t testing.TB, b64 string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lastLine is the last line of a signed note, with its newline.
func lastLine(signed []byte) []byte {
	i := bytes.LastIndexByte(signed[:len(signed)-1], '\n')
	return signed[i+1:]
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestAgreesWithInnerWarm(t *testing.T) {
	logS, logV, wS, wV := keys(t)
	for _, c := range []struct {
		name string
		s    note.Signer
		v    note.Verifier
	}{{"ed25519", logS, logV}, {"cosignature/v1", wS, wV}} {
		t.Run(c.name, func(t *testing.T) {
			m := Wrap(c.v).(*Verifier)
			msg := []byte(body)
			sig := sigOf(t, c.s, body)
			if !m.Verify(msg, sig) || !m.Verify(msg, sig) {
				t.Fatal("a good signature was refused")
			}
			if checks, hits := m.Stats(); checks != 1 || hits != 1 {
				t.Fatalf("checks, hits = %d, %d; want 1, 1 (the second call from memory)", checks, hits)
			}
			for i, p := range spoilt(msg, sig) {
				if c.v.Verify(p[0], p[1]) {
					t.Fatalf("variant %d: the inner verifier accepts it; the test is wrong", i)
				}
				if m.Verify(p[0], p[1]) {
					t.Fatalf("variant %d of a remembered signature was accepted", i)
				}
			}
			if !m.Verify(msg, sig) {
				t.Fatal("the good signature was forgotten")
			}
		})
	}
}

// TestForgedRefusedWarm opens a cosigned checkpoint through note.Open with
// the memory warm, then the same checkpoint with a cosignature altered, a
// cosignature moved onto another body, and a cosignature by another key
// under the witness's name and key hash: each is refused.
func TestForgedRefusedWarm(t *testing.T) {
	logS, logV, wS, wV := keys(t)
	vs := note.VerifierList(Wrap(logV), Wrap(wV))
	signed, err := note.Sign(&note.Note{Text: body}, logS, wS)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := note.Open(signed, vs); err != nil || len(n.Sigs) != 2 {
		t.Fatalf("good note: %v, %d signatures", err, len(n.Sigs))
	}
	cosig := lastLine(signed)

	// Altered cosignature: the last base64 character changed.
	bad := bytes.Clone(signed)
	i := len(bad) - 3
	if bad[i] == 'A' {
		bad[i] = 'B'
	} else {
		bad[i] = 'A'
	}
	if _, err := note.Open(bad, vs); err == nil {
		t.Fatal("an altered cosignature was accepted with the memory warm")
	}

	// The witness's line moved onto another body signed by the log.
	other := body[:len(body)-2] + "B=\n"
	signedOther, err := note.Sign(&note.Note{Text: other}, logS)
	if err != nil {
		t.Fatal(err)
	}
	moved := append(bytes.Clone(signedOther), cosig...)
	if _, err := note.Open(moved, vs); err == nil {
		t.Fatal("a cosignature over another body was accepted with the memory warm")
	}

	// Another key's cosignature relabelled with the witness's name and key
	// hash.
	_, _, w2, _ := keys(t)
	signed2, err := note.Sign(&note.Note{Text: body}, w2)
	if err != nil {
		t.Fatal(err)
	}
	raw := decode(t, string(bytes.Fields(lastLine(signed2))[2]))
	copy(raw, decode(t, string(bytes.Fields(cosig)[2]))[:4])
	relabelled := append(bytes.Clone(signed[:len(signed)-len(cosig)]), []byte(fmt.Sprintf("— %s %s\n", wV.Name(), encode(raw)))...)
	if _, err := note.Open(relabelled, vs); err == nil {
		t.Fatal("another key's cosignature under the witness's name was accepted with the memory warm")
	}

	if _, err := note.Open(signed, vs); err != nil {
		t.Fatalf("the good note after the forgeries: %v", err)
	}
}

func TestBound(t *testing.T) {
	logS, logV, _, _ := keys(t)
	m := Wrap(logV).(*Verifier)
	var first struct{ msg, sig []byte }
	for i := range Max + 10 {
		msg := fmt.Sprintf("example.com/log\n%d\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", i)
		sig := sigOf(t, logS, msg)
		if i == 0 {
			first.msg, first.sig = []byte(msg), sig
		}
		if !m.Verify([]byte(msg), sig) {
			t.Fatalf("signature %d refused", i)
		}
	}
	m.mu.Lock()
	n, r := len(m.seen), len(m.ring)
	m.mu.Unlock()
	if n != Max || r != Max {
		t.Fatalf("remembers %d (ring %d), want %d", n, r, Max)
	}
	checks, _ := m.Stats()
	if !m.Verify(first.msg, first.sig) {
		t.Fatal("the first signature was refused once forgotten")
	}
	if c, _ := m.Stats(); c != checks+1 {
		t.Fatalf("the oldest signature was not forgotten: checks %d -> %d", checks, c)
	}
}

func TestWrap(t *testing.T) {
	_, logV, _, _ := keys(t)
	if Wrap(nil) != nil {
		t.Fatal("Wrap(nil) is not nil")
	}
	w := Wrap(logV)
	if Wrap(w) != w {
		t.Fatal("a wrapped verifier was wrapped again")
	}
	if w.Name() != logV.Name() || w.KeyHash() != logV.KeyHash() {
		t.Fatal("name or key hash differ from the inner verifier's")
	}
}

func TestConcurrent(t *testing.T) {
	logS, logV, _, _ := keys(t)
	m := Wrap(logV)
	var msgs [][2][]byte
	for i := range 20 {
		msg := fmt.Sprintf("example.com/log\n%d\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", i)
		msgs = append(msgs, [2][]byte{[]byte(msg), sigOf(t, logS, msg)})
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				p := msgs[(i+g)%len(msgs)]
				if !m.Verify(p[0], p[1]) {
					t.Error("good signature refused")
					return
				}
				if m.Verify(p[0], p[1][1:]) {
					t.Error("truncated signature accepted")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzAgrees checks that a wrapped verifier, warm with a good signature,
// answers as the inner verifier does for any (message, signature).
func FuzzAgrees(f *testing.F) {
	logS, logV, wS, wV := keys(f)
	lsig, wsig := sigOf(f, logS, body), sigOf(f, wS, body)
	f.Add([]byte(body), lsig, false)
	f.Add([]byte(body), wsig, true)
	f.Add([]byte(body[1:]), lsig, false)
	mlog, mw := Wrap(logV), Wrap(wV)
	mlog.Verify([]byte(body), lsig)
	mw.Verify([]byte(body), wsig)
	f.Fuzz(func(t *testing.T, msg, sig []byte, witness bool) {
		inner, m := logV, mlog
		if witness {
			inner, m = wV, mw
		}
		if got, want := m.Verify(msg, sig), inner.Verify(msg, sig); got != want {
			t.Fatalf("wrapped %v, inner %v", got, want)
		}
	})
}
