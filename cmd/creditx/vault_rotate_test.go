package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// TestVaultRotateCommand: "creditx vault rotate" by the credit office moves
// the vault key on (keys/vault.key replaced by the next epoch's key), the
// stored key of a record still opens with "vault get", a second rotation
// moves on again, and the publisher may not rotate.
func TestVaultRotateCommand(t *testing.T) {
	n, dir := startNode(t)
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	agencies := filepath.Join(dir, "agencies")
	if err := n.SeedDev(rctx, agencies); err != nil {
		t.Fatal(err)
	}
	creds := func(name string) string { return filepath.Join(agencies, name) }
	keys := filepath.Join(t.TempDir(), "keys.json")
	out, err := run(t, "sample", "listing", "--creds", creds("publisher"), "--node", n.URL(), "--n", "7", "--keys", keys)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := schemas.Decode(compact(t, out))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := client.LoadCredentials(creds("publisher"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := pub.Sign(rec)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pub.Submit(rctx, n.URL(), e)
	if err != nil {
		t.Fatal(err)
	}
	record := "330000/" + strconv.FormatUint(rs[0].Index, 10)
	vault := func(who string, args ...string) (string, error) {
		return run(t, append([]string{"vault", args[0], "--node", n.URL(), "--creds", creds(who)}, args[1:]...)...)
	}
	if _, err := vault("publisher", "put", record, "--keys", keys); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "keys", "vault.key")
	k0, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := vault("publisher", "rotate"); err == nil {
		t.Fatalf("vault rotate by the publisher: %q, want refused", out)
	}
	out, err = vault("admin", "rotate")
	if err != nil || !strings.Contains(out, "from epoch 0 to 1") || !strings.Contains(out, "1 stored key(s) re-wrapped") {
		t.Fatalf("vault rotate: %q, %v", out, err)
	}
	k1, _ := os.ReadFile(keyPath)
	if f := strings.Fields(string(k1)); len(f) != 2 || f[1] != "1" || f[0] != nextVaultKey(t, string(k0)) {
		t.Fatalf("keys/vault.key after the rotation: %q, want the next key at epoch 1", k1)
	}
	id := synth.PersonID("330000", 7)
	if out, err := vault("publisher", "get", record, "--purpose", "objection"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("vault get after the rotation: %q, %v", out, err)
	}
	if out, err := vault("admin", "rotate"); err != nil || !strings.Contains(out, "from epoch 1 to 2") {
		t.Fatalf("second vault rotate: %q, %v", out, err)
	}
	if _, err := vault("admin", "rotate", "extra"); err == nil {
		t.Fatal("vault rotate with an argument accepted")
	}
}

// nextVaultKey is the ratchet step of vault/ratchet.go, computed here
// from its documented definition: HMAC-SHA256(K, "creditx/vault/ratchet/v1").
func nextVaultKey(t *testing.T, file string) string {
	k, err := hex.DecodeString(strings.Fields(file)[0])
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("creditx/vault/ratchet/v1"))
	return hex.EncodeToString(m.Sum(nil))
}
