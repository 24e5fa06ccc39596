package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestProofFormatRoundTrip(t *testing.T) {
	cp := []byte("example.com/log\n3\nAAAA\n\n— example.com/log sig\n")
	for _, p := range []Proof{
		{Index: 0, Checkpoint: cp},
		{Index: 73894, Extra: []byte("x"), Hashes: tlog.RecordProof{{1}, {2}}, Checkpoint: cp},
	} {
		text := FormatProof(p)
		got, err := ParseProof(text)
		if err != nil {
			t.Fatalf("ParseProof(%q): %v", text, err)
		}
		if got.Index != p.Index || !bytes.Equal(got.Extra, p.Extra) || len(got.Hashes) != len(p.Hashes) || !bytes.Equal(got.Checkpoint, cp) {
			t.Fatalf("round trip: got %+v, want %+v", got, p)
		}
		for i := range p.Hashes {
			if got.Hashes[i] != p.Hashes[i] {
				t.Fatalf("hash %d differs", i)
			}
		}
	}
}

func TestParseProofRejects(t *testing.T) {
	for name, text := range map[string]string{
		"header":        "c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n",
		"no blank":      "c2sp.org/tlog-proof@v1\nindex 1\n",
		"leading zero":  "c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n",
		"short hash":    "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n",
		"no index":      "c2sp.org/tlog-proof@v1\n\ncp\n",
		"no checkpoint": "c2sp.org/tlog-proof@v1\nindex 1\n\n",
	} {
		if _, err := ParseProof([]byte(text)); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: err = %v, want ErrMalformedProof", name, err)
		}
	}
}

func FuzzParseProof(f *testing.F) {
	f.Add(FormatProof(Proof{Index: 5, Extra: []byte("e"), Hashes: tlog.RecordProof{{9}}, Checkpoint: []byte("o\n1\nAA==\n\n— o x\n")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		if q, err := ParseProof(FormatProof(*p)); err != nil || q.Index != p.Index || len(q.Hashes) != len(p.Hashes) {
			t.Fatalf("re-parse of formatted proof failed: %v", err)
		}
	})
}

func TestParseNoteSignatures(t *testing.T) {
	sig := make([]byte, 4+8+64)
	sig[3] = 7
	sig[4+7] = 100 // timestamp 100
	line := "— w.example " + base64.StdEncoding.EncodeToString(sig) + "\n"
	signed := "o\n1\nAA==\n\n— o " + base64.StdEncoding.EncodeToString([]byte("abcde")) + "\n" + line
	text, sigs, err := ParseNoteSignatures([]byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != "o\n1\nAA==\n" || len(sigs) != 2 || sigs[1].Name != "w.example" || sigs[1].KeyID != 7 {
		t.Fatalf("got %q %+v", text, sigs)
	}
	if ts, ok := sigs[1].Timestamp(); !ok || ts.Unix() != 100 {
		t.Fatalf("timestamp = %v %v, want 100", ts, ok)
	}
	if _, ok := sigs[0].Timestamp(); ok {
		t.Fatal("a 1-byte signature has no cosignature timestamp")
	}
	for name, s := range map[string]string{
		"no newline": strings.TrimSuffix(signed, "\n"),
		"no sigs":    "o\n1\nAA==\n\n",
		"bad prefix": "o\n1\nAA==\n\n- o AAAAAAA=\n",
		"bad base64": "o\n1\nAA==\n\n— o !!!!\n",
		"short":      "o\n1\nAA==\n\n— o AAAA\n",
		"no name":    "o\n1\nAA==\n\n—  AAAAAAA=\n",
		"no blank":   "o\n1\nAA==\n",
	} {
		if _, _, err := ParseNoteSignatures([]byte(s)); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParseNoteSignatures(f *testing.F) {
	f.Add([]byte("o\n1\nAA==\n\n— o AAAAAAA=\n— w AAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("o\n\n— o AAAAAAA=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, sigs, err := ParseNoteSignatures(b)
		if err != nil {
			return
		}
		if len(sigs) == 0 || !bytes.HasSuffix(text, []byte("\n")) {
			t.Fatalf("accepted %q with %d signatures", b, len(sigs))
		}
		for _, s := range sigs {
			if len(s.Sig) == 0 || strings.Contains(s.Name, " ") {
				t.Fatalf("bad signature %+v from %q", s, b)
			}
			s.Timestamp()
		}
	})
}

// TestFormatProofBytesAndAllocs: FormatProof's bytes are exactly the
// layout of Proof's doc, made in one allocation (a receipt has a proof per
// record; ~8 allocations per hash before, issue 20).
func TestFormatProofBytesAndAllocs(t *testing.T) {
	cp := []byte("example.com/log\n3\nAAAA\n\n— example.com/log sig\n")
	h1, h2 := tlog.Hash{1}, tlog.Hash{2, 3}
	p := Proof{Index: 18446744073709551615, Extra: []byte("extra bytes"), Hashes: tlog.RecordProof{h1, h2}, Checkpoint: cp}
	b64 := base64.StdEncoding.EncodeToString
	want := "c2sp.org/tlog-proof@v1\nextra " + b64([]byte("extra bytes")) + "\nindex 18446744073709551615\n" +
		b64(h1[:]) + "\n" + b64(h2[:]) + "\n\n" + string(cp)
	if got := FormatProof(p); string(got) != want {
		t.Errorf("FormatProof = %q, want %q", got, want)
	}
	if got, want := string(FormatProof(Proof{Index: 0, Checkpoint: cp})), "c2sp.org/tlog-proof@v1\nindex 0\n\n"+string(cp); got != want {
		t.Errorf("FormatProof without extra or hashes = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(20, func() { FormatProof(p) }); n != 1 {
		t.Errorf("FormatProof: %.0f allocations, want 1", n)
	}
}
