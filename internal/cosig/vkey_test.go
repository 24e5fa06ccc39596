package cosig

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// tlog-cosignature: "Ed25519 public keys MAY be encoded as vkeys with
// signature type 0x04"; signed-note: "The key name and ID MUST match those
// used in the signatures".
func TestCanonicalKeyIDMatchesSignatureLines(t *testing.T) {
	skey, legacy, err := note.GenerateKey(rand.Reader, "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	canon, err := Canonical(legacy)
	if err != nil {
		t.Fatal(err)
	}
	name, rest, _ := strings.Cut(canon, "+")
	id, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	if name != "witness.example/w1" || key[0] != 0x04 || len(key) != 33 {
		t.Fatalf("canonical vkey %q", canon)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: "example.com/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Parse(canon)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%08x", n.Sigs[0].Hash); got != id {
		t.Fatalf("signature line key ID %s, vkey key ID %s", got, id)
	}
	// The legacy (type 0x01) vkey is read as the same cosigner.
	if lv, err := Parse(legacy); err != nil || lv.KeyHash() != v.KeyHash() || !Same(legacy, canon) {
		t.Fatalf("legacy vkey: %v, %v", lv, err)
	}
	// Canonical is idempotent.
	if again, err := Canonical(canon); err != nil || again != canon {
		t.Fatalf("Canonical(canonical) = %q, %v", again, err)
	}
}

func TestParseRefuses(t *testing.T) {
	_, legacy, _ := note.GenerateKey(rand.Reader, "w")
	canon, _ := Canonical(legacy)
	name, rest, _ := strings.Cut(canon, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	withType := func(typ byte) string {
		k := append([]byte{typ}, key[1:]...)
		return fmt.Sprintf("%s+%08x+%s", name, KeyID(name, k), base64.StdEncoding.EncodeToString(k))
	}
	for what, vkey := range map[string]string{
		"wrong key id":     name + "+00000000+" + key64,
		"legacy wrong id":  strings.Replace(legacy, "+", "+0", 1)[:len(legacy)],
		"type 0x02":        withType(0x02),
		"short key":        fmt.Sprintf("%s+%08x+%s", name, KeyID(name, key[:10]), base64.StdEncoding.EncodeToString(key[:10])),
		"no key id":        name + "+" + key64,
		"not base64":       name + "+00000000+!!!",
		"space in name":    "a b+00000000+" + key64,
		"ML-DSA too short": withType(0x06),
	} {
		if _, err := Parse(vkey); !errors.Is(err, ErrVKey) {
			t.Errorf("%s: Parse(%q) = %v, want ErrVKey", what, vkey, err)
		}
	}
}
