package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// TestVaultCLI walks a clerk's path through the data-key vault: "creditx
// sample --keys" writes the sealed person's data key, the listing is
// submitted, "vault put" stores the key, "vault get" opens the person for
// the publisher (not for the auditor), "vault erase" by the credit office
// destroys it, after which nothing opens it.
func TestVaultCLI(t *testing.T) {
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
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v, %v; want mode 0600", fi, err)
	}
	rec, err := schemas.Decode(compact(t, out))
	if err != nil {
		t.Fatalf("sample listing: %v\n%s", err, out)
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

	if out, err := vault("publisher", "put", record, "--keys", keys); err != nil || !strings.Contains(out, "1 key(s) stored") {
		t.Fatalf("vault put: %q, %v", out, err)
	}
	id := synth.PersonID("330000", 7)
	out, err = vault("publisher", "get", record, "--purpose", "objection")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "张三") {
		t.Fatalf("vault get as the publisher: %q, %v; want %s and the name", out, err, id)
	}
	if out, err := vault("auditor", "get", record, "--purpose", "audit"); err == nil || strings.Contains(out, id) {
		t.Fatalf("vault get as the auditor: %q, %v; want refused", out, err)
	}
	if _, err := vault("admin", "get", record); err == nil {
		t.Fatal("vault get without --purpose accepted")
	}
	if _, err := vault("publisher", "get", "330000-1", "--purpose", "x"); err == nil || !strings.Contains(err.Error(), "RECORD") {
		t.Fatalf("malformed RECORD: %v", err)
	}
	if out, err := vault("admin", "erase", record, "--reason", "court_order: 2026-17"); err != nil || !strings.Contains(out, "1 key(s) destroyed") {
		t.Fatalf("vault erase: %q, %v", out, err)
	}
	if out, err := vault("admin", "get", record, "--purpose", "audit"); err == nil || strings.Contains(out, id) {
		t.Fatalf("vault get after erasure: %q, %v; want refused", out, err)
	}
}

// compact undoes the indentation "creditx sample" prints: the canonical
// bytes, as the ledger would hold them.
func compact(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
