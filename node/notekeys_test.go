package node_test

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/node"
	"golang.org/x/mod/sumdb/note"
)

// readNoteKeys reads the signed-note key pair dir/keys/<name>.key and
// .vkey as provision writes them (log, access, loop) and checks that the
// two are one key: the node's own reading (node.ReadNoteKeyPair), without
// the origin the node requires of it.
func readNoteKeys(dir, name string) (note.Signer, note.Verifier, error) {
	return node.ReadNoteKeyPair(name, filepath.Join(dir, "keys", name+".key"))
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
	if _, _, err := readNoteKeys(dir, "log"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file: %v, want not exist", err)
	}
}

// TestLoadNoteKeyErrors: every error of loading a key names the key's role
// (log, access, loop) and the file it failed on, so that an operator knows
// which of a replica's keys to fix.
func TestLoadNoteKeyErrors(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	s1, v1, err := ledger.GenerateKey("creditx.330000/access", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, v2, err := ledger.GenerateKey("creditx.330000/access", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path, vpath := filepath.Join(keys, "access.key"), filepath.Join(keys, "access.vkey")
	write := func(file, k string) {
		t.Helper()
		if k == "" {
			os.Remove(file)
			return
		}
		if err := os.WriteFile(file, []byte(k+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, skey, vkey, origin string
		want                     []string // in the error
	}{
		{"no .key", "", v1, "creditx.330000/access", []string{"access key", path}},
		{"bad .key", "not a key", v1, "creditx.330000/access", []string{"access key", path}},
		{"no .vkey", s1, "", "creditx.330000/access", []string{"access verifier key", vpath}},
		{"bad .vkey", s1, "not a key", "creditx.330000/access", []string{"access verifier key", vpath}},
		{"another key's .vkey", s1, v2, "creditx.330000/access", []string{"access verifier key", vpath, "is not the key of", path}},
		{"another origin", s1, v1, "creditx.330000/ledger", []string{"access key", path, "creditx.330000/ledger"}},
	} {
		write(path, tc.skey)
		write(vpath, tc.vkey)
		_, _, err := node.LoadNoteKey("access", path, tc.origin)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "log key") {
			t.Errorf("%s: %q calls the access key the log key", tc.name, err)
		}
	}
	write(path, s1)
	write(vpath, v1)
	if s, v, err := node.LoadNoteKey("access", path, "creditx.330000/access"); err != nil || s.Name() != "creditx.330000/access" || v.KeyHash() != s.KeyHash() {
		t.Errorf("a good pair: %v", err)
	}
}
