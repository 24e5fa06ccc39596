package ledger

import (
	"bytes"
	"errors"
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
