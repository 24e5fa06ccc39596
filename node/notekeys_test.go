package node_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
)

// readNoteKeys reads the signed-note key pair dir/keys/<name>.key and
// .vkey as provision writes them (log, access, loop) and checks that the
// two are one key.
func readNoteKeys(dir, name string) (note.Signer, note.Verifier, error) {
	base := filepath.Join(dir, "keys", name)
	skey, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, nil, err
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s.key: %w", base, err)
	}
	vkey, err := os.ReadFile(base + ".vkey")
	if err != nil {
		return nil, nil, err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s.vkey: %w", base, err)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, nil, fmt.Errorf("%s.vkey is not the key of %s.key", base, base)
	}
	return s, v, nil
}

// noteKeys is readNoteKeys failing t: the one helper of the node tests
// that read a replica's or member's key files.
func noteKeys(t testing.TB, dir, name string) (note.Signer, note.Verifier) {
	t.Helper()
	s, v, err := readNoteKeys(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// TestReadNoteKeys: a key pair reads back as written; a .vkey of another
// key, or of another name, is refused, not returned beside the wrong
// signer.
func TestReadNoteKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, skey, vkey string) {
		t.Helper()
		for file, k := range map[string]string{name + ".key": skey, name + ".vkey": vkey} {
			if err := os.WriteFile(filepath.Join(dir, "keys", file), []byte(k+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	gen := func(origin string) (string, string) {
		t.Helper()
		s, v, err := ledger.GenerateKey(origin, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return s, v
	}
	s1, v1 := gen("creditx.330000/loop")
	_, v2 := gen("creditx.330000/loop")
	_, v3 := gen("creditx.330000/ledger")
	write("loop", s1, v1)
	if s, v, err := readNoteKeys(dir, "loop"); err != nil || s.Name() != "creditx.330000/loop" || v.KeyHash() != s.KeyHash() {
		t.Fatalf("a written pair: %v", err)
	}
	for what, vkey := range map[string]string{"another key's .vkey": v2, "another name's .vkey": v3} {
		write("loop", s1, vkey)
		if _, _, err := readNoteKeys(dir, "loop"); err == nil || !strings.Contains(err.Error(), "is not the key of") {
			t.Errorf("%s: %v, want refused", what, err)
		}
	}
	if _, _, err := readNoteKeys(dir, "log"); !os.IsNotExist(err) {
		t.Errorf("missing key file: %v, want not exist", err)
	}
}
