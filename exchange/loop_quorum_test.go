package exchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// loopFixture is a manifest whose first member (310000) has a loop log
// and whose other members cosign with real witness keys, a checkpoint of
// that loop log (plain, signed by its key alone), a cosignature line per
// witness (line) and 320000's line forged (bad: its signature bytes
// flipped).
type loopFixture struct {
	m      *Manifest
	origin string
	plain  []byte
	line   func(code string) []byte
	bad    []byte
	// witnessed signs a checkpoint of size and root with the loop key and
	// cosigns it by 330000's and 340000's witnesses (the quorum).
	witnessed func(t *testing.T, size uint64, root tlog.Hash) []byte
}

func newLoopFixture(t *testing.T) *loopFixture {
	t.Helper()
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
	witnessed := func(t *testing.T, size uint64, root tlog.Hash) []byte {
		t.Helper()
		b, err := ledger.SignCheckpoint(ls, origin, size, root)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(b, note.VerifierList(m.Members[0].LoopVerifier()))
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{"330000", "340000"} {
			l, err := cosigners[code].Cosign(n)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, l...)
		}
		return b
	}
	return &loopFixture{m: m, origin: origin, plain: plain, line: line, bad: bad, witnessed: witnessed}
}

// TestQuorumNote: a follower keeps the served loop checkpoint's log
// signature and the first cosignatures that verify, up to the quorum
// (issue 20: checking every cosignature, and the log's signature twice, was
// the largest share of the 45-member profile). A cosignature that does not
// verify is neither counted towards the quorum nor kept, but counted as
// failed (and the lines after the quorum as unchecked); the reduced note
// still passes the
// full check of every signature it carries; fewer valid cosignatures than
// the quorum is refused.
func TestQuorumNote(t *testing.T) {
	f := newLoopFixture(t)
	m, origin, plain, line, bad := f.m, f.origin, f.plain, f.line, f.bad
	served := append(append(append(append(bytes.Clone(plain), bad...), line("330000")...), line("340000")...), line("350000")...)

	var cache CheckpointCache
	cp, err := cache.Open(served, origin, m.Members[0].LoopVerifier())
	if err != nil {
		t.Fatal(err)
	}
	got, names, lines, err := cache.QuorumNote(m, origin, cp)
	if err != nil {
		t.Fatal(err)
	}
	// The forged line is checked and fails; 350000's is not checked (the
	// quorum was met before it).
	if lines != (CosigLines{Failed: 1, Unchecked: 1}) {
		t.Errorf("lines not kept %+v, want 1 failed (320000's) and 1 unchecked (350000's)", lines)
	}
	if _, _, again, _ := cache.QuorumNote(m, origin, cp); again != (CosigLines{}) {
		t.Errorf("the cached answer counts lines again: %+v", again)
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
	if _, names, lines, err := cache.QuorumNote(m, origin, cp1); !errors.Is(err, errNoQuorum) || lines != (CosigLines{Failed: 1}) {
		t.Errorf("one valid cosignature (%v): err %v, lines %+v; want errNoQuorum, 1 failed", names, err, lines)
	}
}

// TestForgedCosignatureCounted: a loop checkpoint served with a forged
// cosignature line, and a quorum without it, is followed (the line is not
// kept), and GET /v1/exchange's status of that member counts the line as
// failed, and the line left unchecked after the quorum; serving the same
// note again does not count it twice, a second forged note does.
func TestForgedCosignatureCounted(t *testing.T) {
	f := newLoopFixture(t)
	h := newFakeHost(t)
	x, err := NewOffline(f.m, "330000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.cfg.LoopSigner = testLoopSigner(t) // follows the other members' loop logs
	mb, _ := f.m.Member("310000")
	served := append(append(append(append(bytes.Clone(f.plain), f.bad...), f.line("330000")...), f.line("340000")...), f.line("350000")...)
	ctx := context.Background()
	status := func() LoopStatus { return loopStatusOf(t, x, "310000") }
	if ls := status(); ls.CosigFailed != 0 || ls.CosigUnchecked != 0 {
		t.Fatalf("before any checkpoint: %+v", ls)
	}
	for range 2 { // the second time from the cache: not counted again
		if err := x.followServed(ctx, mb, nil, served, nil); err != nil {
			t.Fatalf("a note with a quorum besides the forged line: %v", err)
		}
	}
	if ls := status(); ls.CosigFailed != 1 || ls.CosigUnchecked != 1 {
		t.Errorf("after a note with one forged line: failed %d, unchecked %d; want 1 and 1", ls.CosigFailed, ls.CosigUnchecked)
	}
	// Another note (the lines in another order) with the forged line, and
	// no quorum: refused, and the forged line counted.
	one := append(append(bytes.Clone(f.plain), f.line("330000")...), f.bad...)
	if err := x.followServed(ctx, mb, nil, one, nil); !errors.Is(err, errNotWitnessed) {
		t.Errorf("a note with one valid cosignature: %v, want errNotWitnessed", err)
	}
	if ls := status(); ls.CosigFailed != 2 || ls.CosigUnchecked != 1 {
		t.Errorf("after a second note with the forged line: failed %d, unchecked %d; want 2 and 1", ls.CosigFailed, ls.CosigUnchecked)
	}
}

func testLoopSigner(t *testing.T) note.Signer {
	t.Helper()
	skey, _, err := ledger.GenerateKey(schemas.LoopOrigin("330000"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loopStatusOf is x's status of the loop log of member code.
func loopStatusOf(t *testing.T, x *Runtime, code string) LoopStatus {
	t.Helper()
	st, err := x.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range st.Mirrors {
		if ms.Code == code && ms.Loop != nil {
			return *ms.Loop
		}
	}
	t.Fatalf("no loop status for %s in %+v", code, st.Mirrors)
	return LoopStatus{}
}
