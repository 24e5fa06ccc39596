package exchange

import (
	"bytes"
	"errors"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// TestServedLoopProof: a loop long-poll answer with a proof parses back to
// the checkpoint and the proof; a plain answer is the checkpoint as it is;
// a proof is used only where it verifies from the size the follower needs
// against the roots it trusts (else the follower reads the tiles), and a
// malformed answer is an error.
func TestServedLoopProof(t *testing.T) {
	var hs []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = hs[x]
		}
		return out, nil
	})
	roots := map[int64]tlog.Hash{}
	for i := range int64(12) {
		rs, err := tlog.StoredHashes(i, []byte{byte(i), 'n'}, hr)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, rs...)
		if roots[i+1], err = tlog.TreeHash(i+1, hr); err != nil {
			t.Fatal(err)
		}
	}
	proof, err := tlog.ProveTree(12, 5, hr)
	if err != nil {
		t.Fatal(err)
	}
	note := []byte("creditx.310000/loop\n12\nAAAA\n\n— creditx.310000/loop sig\n")
	body := AddCheckpoint{OldSize: 5, Proof: proof, Checkpoint: note}.Encode()

	cp, sp, err := parseLoopAnswer(LoopProofContentType, body)
	if err != nil || !bytes.Equal(cp, note) || sp == nil || sp.old != 5 || len(sp.proof) != len(proof) {
		t.Fatalf("answer with a proof: %q, %+v, %v", cp, sp, err)
	}
	if cp, sp, err := parseLoopAnswer("text/plain; charset=utf-8", note); err != nil || sp != nil || !bytes.Equal(cp, note) {
		t.Fatalf("plain answer: %q, %+v, %v", cp, sp, err)
	}
	if _, _, err := parseLoopAnswer(LoopProofContentType, note); err == nil {
		t.Fatal("a plain note served as an answer with a proof parsed")
	}

	big := &ledger.Checkpoint{Size: 12, Root: roots[12]}
	if p, err := sp.use(big, 5, roots[5]); p == nil || err != nil {
		t.Fatalf("a proof that verifies was not used: %v", err)
	}
	bad := &servedProof{old: 5, proof: append(tlog.TreeProof(nil), proof...)}
	bad.proof[len(bad.proof)-1][0] ^= 1
	other := &ledger.Checkpoint{Size: 12, Root: tlog.Hash{0xf0}}
	// A proof from the size needed that does not verify is a refusal
	// (counted and shown); one from another size, or none, is not.
	for _, tc := range []struct {
		name    string
		sp      *servedProof
		big     *ledger.Checkpoint
		small   uint64
		refused bool
	}{
		{"no proof served", nil, big, 5, false},
		{"from another size", sp, big, 4, false},
		{"from size 0", &servedProof{old: 0}, big, 0, false},
		{"to another root", sp, other, 5, true},
		{"from another root", sp, big, 5, true},
		{"a hash of the proof flipped", bad, big, 5, true},
	} {
		smallRoot := roots[int64(tc.small)]
		if tc.name == "from another root" {
			smallRoot = roots[6]
		}
		p, err := tc.sp.use(tc.big, tc.small, smallRoot)
		if p != nil {
			t.Errorf("%s: the served proof was used", tc.name)
		}
		if refused := errors.Is(err, errProofRefused); refused != tc.refused {
			t.Errorf("%s: refusal %v (%v), want %v", tc.name, refused, err, tc.refused)
		}
	}
}

// FuzzParseLoopAnswer: a loop long-poll answer never panics the follower;
// one that parses carries what re-encodes to it, and a proof it carries is
// used only where it verifies (here against roots it cannot match).
func FuzzParseLoopAnswer(f *testing.F) {
	f.Add((AddCheckpoint{OldSize: 3, Proof: tlog.TreeProof{{1}}, Checkpoint: []byte("o\n5\nx\n")}).Encode(), true)
	f.Add([]byte("creditx.310000/loop\n5\nAAAA\n\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, withProof bool) {
		ct := "text/plain; charset=utf-8"
		if withProof {
			ct = LoopProofContentType
		}
		cp, sp, err := parseLoopAnswer(ct, b)
		if err != nil {
			return
		}
		if sp == nil {
			if withProof || !bytes.Equal(cp, b) {
				t.Fatalf("plain answer %q became %q", b, cp)
			}
			return
		}
		if re := (AddCheckpoint{OldSize: sp.old, Proof: sp.proof, Checkpoint: cp}).Encode(); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n%q\n%q", re, b)
		}
		big := &ledger.Checkpoint{Size: sp.old + 1, Root: tlog.Hash{0xb1}}
		if p, _ := sp.use(big, sp.old, tlog.Hash{0x5a}); p != nil {
			t.Fatal("a served proof was used between roots it cannot prove consistent")
		}
	})
}
