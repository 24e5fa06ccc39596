package exchange

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestAddCheckpointRoundTrip(t *testing.T) {
	cp := []byte("creditx.330000/ledger\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— creditx.330000/ledger abcd\n")
	for _, a := range []AddCheckpoint{
		{OldSize: 0, Checkpoint: cp},
		{OldSize: 3, Proof: tlog.TreeProof{{1}, {2}}, Checkpoint: cp},
	} {
		b := a.Encode()
		got, err := ParseAddCheckpoint(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.OldSize != a.OldSize || len(got.Proof) != len(a.Proof) || !bytes.Equal(got.Checkpoint, a.Checkpoint) {
			t.Fatalf("round trip: got %+v", got)
		}
	}
	// The spec's example layout, byte for byte.
	want := "old 3\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n\n" + string(cp)
	if got := (AddCheckpoint{OldSize: 3, Proof: tlog.TreeProof{{}}, Checkpoint: cp}).Encode(); string(got) != want {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
}

func TestParseAddCheckpointErrors(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := map[string]string{
		"no newline":           "old 1",
		"bad old line":         "older 1\n\nx",
		"leading zero":         "old 01\n\nx",
		"negative":             "old -1\n\nx",
		"short hash":           "old 1\nAAAA\n\nx",
		"non-canonical b64":    "old 1\n" + strings.TrimSuffix(h, "=") + "\n\nx",
		"no blank line":        "old 1\n" + h + "\n",
		"no checkpoint":        "old 1\n\n",
		"too many proof lines": "old 1\n" + strings.Repeat(h+"\n", 64) + "\nx",
	}
	for name, body := range tests {
		if _, err := ParseAddCheckpoint([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// tlog-witness: "If the proof is not empty when the old size is zero [...]
// the witness MUST respond with a 422 Unprocessable Entity": the request
// parses (it is not a 400), the witness decision refuses it.
func TestParseAddCheckpointOldZeroWithProof(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	a, err := ParseAddCheckpoint([]byte("old 0\n" + h + "\n\nx\n"))
	if err != nil || a.OldSize != 0 || len(a.Proof) != 1 {
		t.Fatalf("ParseAddCheckpoint = %+v, %v", a, err)
	}
}

// signed-note: "verifiers MUST accept at least 16 signatures", and
// post-quantum signatures can be up to nearly 5 kB: 16 signature lines of
// ML-DSA-87 size (4,627-byte signature, 4-byte key ID, 8-byte timestamp)
// from unknown keys fit; a note past MaxCheckpointSize does not.
func TestParseAddCheckpointLargeSignatures(t *testing.T) {
	ls, lv := testLog(t, "330000")
	signed, err := ledger.SignCheckpoint(ls, "creditx.330000/ledger", 7, tlog.Hash{9})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("w", 200) + ".example/witness"
	for i := range 16 {
		sig := make([]byte, 4+8+4627)
		sig[0] = byte(i)
		signed = append(signed, "— "+name+" "+base64.StdEncoding.EncodeToString(sig)+"\n"...)
	}
	body := AddCheckpoint{OldSize: 3, Proof: make(tlog.TreeProof, MaxProofLines), Checkpoint: signed}.Encode()
	if len(body) > MaxAddCheckpointSize {
		t.Fatalf("a request of %d bytes exceeds MaxAddCheckpointSize %d", len(body), MaxAddCheckpointSize)
	}
	a, err := ParseAddCheckpoint(body)
	if err != nil {
		t.Fatalf("16 ML-DSA-87-sized signature lines (%d bytes) refused: %v", len(signed), err)
	}
	if _, err := ledger.OpenCheckpoint(a.Checkpoint, "creditx.330000/ledger", lv); err != nil {
		t.Fatalf("the log's signature among 16 unknown ones: %v", err)
	}
	tooBig := append(append([]byte(nil), signed...), make([]byte, MaxCheckpointSize)...)
	if _, err := ParseAddCheckpoint(AddCheckpoint{Checkpoint: tooBig}.Encode()); err == nil {
		t.Error("a checkpoint past MaxCheckpointSize parsed")
	}
}

func FuzzParseAddCheckpoint(f *testing.F) {
	f.Add((AddCheckpoint{OldSize: 3, Proof: tlog.TreeProof{{1}}, Checkpoint: []byte("o\n1\nx\n")}).Encode())
	f.Add([]byte("old 0\n\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAddCheckpoint(b)
		if err != nil {
			return
		}
		if re := a.Encode(); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n%q\n%q", re, b)
		}
	})
}

// testLog signs checkpoints for origin.
func testLog(t testing.TB, code string) (note.Signer, note.Verifier) {
	skey, vkey, err := ledger.GenerateKey(schemas.LedgerOrigin(code), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

func TestCosignerAndCount(t *testing.T) {
	ls, lv := testLog(t, "330000")
	signed, err := ledger.SignCheckpoint(ls, "creditx.330000/ledger", 7, tlog.Hash{9})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.OpenCheckpoint(signed, "creditx.330000/ledger", lv)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	var vs []note.Verifier
	for _, code := range []string{"310000", "320000"} {
		skey, vkey, err := GenerateWitnessKey(code, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := NewCosigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Name() != schemas.WitnessOrigin(code) {
			t.Fatalf("Name = %q", cs.Name())
		}
		l, err := cs.Cosign(cp.Note)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(l, []byte("— "+schemas.WitnessOrigin(code)+" ")) || !bytes.HasSuffix(l, []byte("\n")) || bytes.Count(l, []byte("\n")) != 1 {
			t.Fatalf("cosignature line %q", l)
		}
		v, err := fnote.NewVerifierForCosignatureV1(vkey)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
		lines = append(lines, l)
	}
	// A cosignature is timestamped (tlog-cosignature: never zero).
	n, err := note.Open(AddSignatures(signed, lines...), note.VerifierList(append([]note.Verifier{lv}, vs...)...))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range n.Sigs[1:] {
		ts, err := fnote.CoSigV1Timestamp(s)
		if err != nil || ts.Unix() == 0 || time.Since(ts) > time.Minute {
			t.Errorf("cosignature timestamp %v, %v", ts, err)
		}
	}
	all := AddSignatures(signed, lines...)
	if again := AddSignatures(all, lines...); !bytes.Equal(again, all) {
		t.Error("AddSignatures added a signature the note already had")
	}
	names, err := CountCosignatures(all, lv, vs)
	if err != nil || len(names) != 2 {
		t.Fatalf("CountCosignatures = %v, %v", names, err)
	}
	if names, _ := CountCosignatures(signed, lv, vs); len(names) != 0 {
		t.Errorf("plain checkpoint counted %v", names)
	}
	// A cosignature over another checkpoint does not count.
	other, _ := ledger.SignCheckpoint(ls, "creditx.330000/ledger", 8, tlog.Hash{9})
	if _, err := CountCosignatures(AddSignatures(other, lines[0]), lv, vs); err == nil {
		t.Error("a cosignature moved to another checkpoint verified")
	}
}

func TestFrontierMatchesTlog(t *testing.T) {
	f := NewFrontier()
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for n := 0; n < 600; n++ {
		th, err := tlog.TreeHash(int64(n), hr)
		if err != nil {
			t.Fatal(err)
		}
		if f.Root() != th {
			t.Fatalf("size %d: frontier root %x, tlog %x", n, f.Root(), th)
		}
		c, err := DecodeFrontier(f.Encode())
		if err != nil || c.Root() != th || c.Size() != uint64(n) {
			t.Fatalf("size %d: decoded frontier: %v", n, err)
		}
		e := []byte(fmt.Sprintf("entry %d", n))
		hs, err := tlog.StoredHashes(int64(n), e, hr)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
		f.AppendEntry(e)
	}
	for name, b := range map[string][]byte{"empty": nil, "version": {2, 0}, "short": {1, 3, 0}, "long": append(NewFrontier().Encode(), 0), "varint": {1, 0x80, 0}} {
		if _, err := DecodeFrontier(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeFrontier(f *testing.F) {
	fr := NewFrontier()
	for i := 0; i < 5; i++ {
		fr.AppendEntry([]byte{byte(i)})
	}
	f.Add(fr.Encode())
	f.Add(NewFrontier().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrontier(b)
		if err != nil {
			return
		}
		if !bytes.Equal(fr.Encode(), b) {
			t.Fatal("re-encoding differs")
		}
		fr.AppendEntry([]byte("x"))
		_ = fr.Root()
	})
}

func TestEvidenceRoundTrip(t *testing.T) {
	e := Evidence{Kind: AlertEquivocation, Origin: "creditx.330000/ledger", Time: time.Unix(1790000000, 0).UTC(), Index: 4,
		Reason: "two roots", Items: [][]byte{[]byte("note a\n"), []byte("note b\n")}}
	got, err := DecodeEvidence(e.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != e.Kind || got.Origin != e.Origin || !got.Time.Equal(e.Time) || got.Index != 4 || got.Reason != e.Reason || len(got.Items) != 2 || string(got.Items[1]) != "note b\n" {
		t.Fatalf("round trip: %+v", got)
	}
	b := e.Encode()
	for name, bad := range map[string][]byte{"version": append([]byte{2}, b[1:]...), "truncated": b[:len(b)-1], "trailing": append(append([]byte{}, b...), 0)} {
		if _, err := DecodeEvidence(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeEvidence(f *testing.F) {
	f.Add(Evidence{Kind: AlertBadEntry, Origin: "o", Time: time.Unix(5, 0), Items: [][]byte{[]byte("x")}}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvidence(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// entryFixture is a member with an anchor, a registered publisher and signed entries.
type entryFixture struct {
	m       *Manifest
	mb      *Member
	anchor  ed25519.PrivateKey
	pub     ed25519.PrivateKey
	pubUSCC string
	entries [][]byte // 0: registration of pub, 1..: listings by pub
}

func newEntryFixture(t testing.TB) *entryFixture {
	t.Helper()
	m := testManifest(t, "330000", "310000", "320000")
	aPub, aPriv, _ := ed25519.GenerateKey(rand.Reader)
	adminUSCC, _ := schemas.CompleteUSCC("11330000MB000001")
	pubUSCC, _ := schemas.CompleteUSCC("11330000MB000002")
	m.Members[0].Anchors = []Anchor{{Name: "office", USCC: adminUSCC, PublicKey: base64.StdEncoding.EncodeToString(aPub)}}
	m, err := ParseManifest(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	fx := &entryFixture{m: m, anchor: aPriv, pubUSCC: pubUSCC}
	fx.mb, _ = m.Member("330000")
	pPub, pPriv, _ := ed25519.GenerateKey(rand.Reader)
	fx.pub = pPriv
	g := &schemas.Governance{
		Header: schemas.Header{Region: "330000", Submitter: adminUSCC, CreatedAt: schemas.NewTime(time.Now().Add(-2 * time.Hour))},
		Action: schemas.ActionAgencyKeyRegister,
		AgencyKeyRegister: &schemas.AgencyKeyRegister{Agency: schemas.GovAgency{Name: "Publisher", USCC: pubUSCC, Region: "330000"},
			KeyID: schemas.KeyID(pPub), PublicKey: base64.StdEncoding.EncodeToString(pPub), Roles: []string{"publish"}, Domains: []string{"environment", "tourism", "food_drug", "product_quality"}},
	}
	e, err := schemas.Sign(g, aPriv)
	if err != nil {
		t.Fatal(err)
	}
	fx.entries = append(fx.entries, e)
	for i := uint64(0); i < 3; i++ {
		fx.entries = append(fx.entries, fx.listing(t, i, pPriv, "330000"))
	}
	return fx
}

func (fx *entryFixture) listing(t testing.TB, i uint64, key ed25519.PrivateKey, region string) []byte {
	l, err := synth.Listing(i, synth.Options{Region: region, Authority: schemas.Agency{Name: "Publisher", USCC: fx.pubUSCC}, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := schemas.Sign(l, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEntryVerifier(t *testing.T) {
	fx := newEntryFixture(t)
	v, err := NewEntryVerifier(fx.m, fx.mb)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range fx.entries {
		ok, err := v.Check(uint64(i), e)
		if err != nil || !ok {
			t.Fatalf("entry %d: accepted=%v err=%v", i, ok, err)
		}
	}
	next := uint64(len(fx.entries))
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	tampered := bytes.Replace(fx.entries[1], []byte(`"region":"330000"`), []byte(`"region":"330100"`), 1)
	bad := map[string][]byte{
		"unregistered key": fx.listing(t, 9, rogue, "330000"),
		"bad signature":    tampered,
		"other region":     fx.listing(t, 9, fx.pub, "310000"),
		"not an envelope":  []byte(`{"x":1}`),
		"forged submitter": func() []byte {
			l, _ := synth.Listing(12, synth.Options{Region: "330000", Authority: schemas.Agency{Name: "Publisher", USCC: fx.pubUSCC}, Now: time.Now().Add(-time.Hour)})
			l.Submitter = "91350100M000100Y43"
			e, _ := schemas.Sign(l, fx.pub)
			return e
		}(),
		"governance by agency": func() []byte {
			e, _ := schemas.Sign(&schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: fx.pubUSCC, CreatedAt: schemas.NewTime(time.Now().Add(-time.Hour))},
				Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: schemas.KeyID(fx.pub.Public().(ed25519.PublicKey)), Reason: "x"}}, fx.pub)
			return e
		}(),
	}
	for name, e := range bad {
		_, err := v.Check(next, e)
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Index != next || ee.Origin != "creditx.330000/ledger" {
			t.Errorf("%s: err = %v, want *EntryError at %d", name, err, next)
		}
		if v.Next() != next {
			t.Fatalf("%s: a failed check moved Next to %d", name, v.Next())
		}
	}
	if _, err := v.Check(next+1, fx.entries[1]); err == nil {
		t.Error("out-of-order entry accepted")
	}
	// A schema the manifest does not accept is verified but not accepted.
	fx.m.AcceptedSchemas = []string{"governance/v1"}
	ok, err := v.Check(next, fx.listing(t, 10, fx.pub, "330000"))
	if err != nil || ok {
		t.Fatalf("unaccepted schema: accepted=%v err=%v", ok, err)
	}
	// Skip rebuilds the keyring from governance records.
	v2, _ := NewEntryVerifier(fx.m, fx.mb)
	if err := v2.Skip(next, func(yield func(uint64, []byte) bool) { yield(0, fx.entries[0]) }); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Check(next, fx.listing(t, 11, fx.pub, "330000")); err != nil {
		t.Fatalf("after Skip: %v", err)
	}
}

// TestCheckBatchMatchesCheck: the parallel path accepts and refuses exactly
// what the sequential one does, naming the same first failing index.
func TestCheckBatchMatchesCheck(t *testing.T) {
	fx := newEntryFixture(t)
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	good := append([][]byte(nil), fx.entries...)
	for i := uint64(10); i < 40; i++ {
		good = append(good, fx.listing(t, i, fx.pub, "330000"))
	}
	v, _ := NewEntryVerifier(fx.m, fx.mb)
	acc, err := v.CheckBatch(0, good)
	if err != nil || len(acc) != len(good) || v.Next() != uint64(len(good)) {
		t.Fatalf("CheckBatch = %v, %v", acc, err)
	}
	for i, a := range acc {
		if !a {
			t.Errorf("entry %d not accepted", i)
		}
	}
	for _, badAt := range []int{1, 7, len(good) - 1} {
		batch := append([][]byte(nil), good...)
		batch[badAt] = fx.listing(t, 99, rogue, "330000")
		if badAt+2 < len(batch) {
			batch[badAt+2] = []byte("{}") // a later failure must not win
		}
		v, _ := NewEntryVerifier(fx.m, fx.mb)
		_, err := v.CheckBatch(0, batch)
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Index != uint64(badAt) {
			t.Errorf("bad entry at %d: err = %v", badAt, err)
		}
	}
	// Entry 0 registers the publisher key: without it, every listing fails.
	v2, _ := NewEntryVerifier(fx.m, fx.mb)
	if _, err := v2.CheckBatch(0, good[1:]); err == nil {
		t.Error("listings signed by an unregistered key accepted")
	}
}
