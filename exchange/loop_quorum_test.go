package exchange

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestQuorumNote: a follower keeps the served loop checkpoint's log
// signature and the first cosignatures that verify, up to the quorum
// (issue 20: checking every cosignature, and the log's signature twice, was
// the largest share of the 45-member profile). A cosignature that does not
// verify is neither counted nor kept; the reduced note still passes the
// full check of every signature it carries; fewer valid cosignatures than
// the quorum is refused.
func TestQuorumNote(t *testing.T) {
	codes := []string{"310000", "320000", "330000", "340000", "350000", "360000"}
	m := testManifest(t, codes...)
	loopS, loopV, err := ledger.GenerateKey(schemas.LoopOrigin("310000"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m.Members[0].LoopVKey = loopV
	cosigners := map[string]*Cosigner{}
	for i := range m.Members[1:] {
		mb := &m.Members[1+i]
		ws, wv, err := GenerateWitnessKey(mb.Code, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		mb.WitnessVKey = wv
		if cosigners[mb.Code], err = NewCosigner(ws); err != nil {
			t.Fatal(err)
		}
	}
	m = parsed(t, m)
	origin := schemas.LoopOrigin("310000")
	ls, err := note.NewSigner(loopS)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ledger.SignCheckpoint(ls, origin, 7, tlog.Hash{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(plain, note.VerifierList(m.Members[0].LoopVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	line := func(code string) []byte {
		l, err := cosigners[code].Cosign(n)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// 320000's line is forged: its signature bytes flipped.
	bad := line("320000")
	i := bytes.LastIndexByte(bad[:len(bad)-1], ' ') + 8
	bad[i] ^= 'A' ^ 'B'
	if bad[i] == '\n' || bad[i] == '=' {
		t.Fatal("test forged the wrong byte")
	}
	served := append(append(append(append(bytes.Clone(plain), bad...), line("330000")...), line("340000")...), line("350000")...)

	var cache CheckpointCache
	cp, err := cache.Open(served, origin, m.Members[0].LoopVerifier())
	if err != nil {
		t.Fatal(err)
	}
	got, names, err := cache.QuorumNote(m, origin, cp)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "creditx.330000/witness" || names[1] != "creditx.340000/witness" {
		t.Errorf("cosigners kept %v, want 330000's and 340000's (the forged line skipped, the quorum of 2 reached)", names)
	}
	if want := append(append(bytes.Clone(plain), line("330000")...), line("340000")...); string(got) != string(want) {
		t.Errorf("reduced note:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(string(got), "320000") || strings.Contains(string(got), "350000") {
		t.Errorf("reduced note keeps a line not checked or not valid:\n%s", got)
	}
	if _, ok, err := m.WitnessedLog(origin, got); err != nil || !ok {
		t.Errorf("the reduced note fails the full check: ok %v, %v", ok, err)
	}
	// The served note, forged line and all, fails the full check: what
	// following stored before this change would have refused it.
	if _, _, err := m.WitnessedLog(origin, served); err == nil {
		t.Error("the served note with a forged cosignature passes the full check")
	}

	// One valid cosignature: no quorum.
	one := append(append(bytes.Clone(plain), bad...), line("330000")...)
	cp1, err := cache.Open(one, origin, m.Members[0].LoopVerifier())
	if err != nil {
		t.Fatal(err)
	}
	if _, names, err := cache.QuorumNote(m, origin, cp1); !errors.Is(err, errNoQuorum) {
		t.Errorf("one valid cosignature (%v): err %v, want errNoQuorum", names, err)
	}
}
