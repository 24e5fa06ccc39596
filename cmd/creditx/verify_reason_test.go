package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/schemas"
)

// TestVerifySaysWhy: an entry the record check rejects (here a governance
// record the keyring refuses, as a node before issue 11 could write) is
// reported with the reason, not a bare "rejected by check".
func TestVerifySaysWhy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "5"); err != nil {
		t.Fatal(err)
	}
	origin := schemas.LedgerOrigin("330000")
	signer, verifier, admin, _, err := genKeys(dir, origin, "330000")
	if err != nil {
		t.Fatal(err)
	}
	g := &schemas.Governance{Header: schemas.Header{Region: "330000", Submitter: provision.DevUSCC("330000", "MB000001"), CreatedAt: schemas.NewTime(time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC))},
		Action: schemas.ActionAgencyKeyRevoke, AgencyKeyRevoke: &schemas.AgencyKeyRevoke{KeyID: "0123456789abcdef", Reason: "test"}}
	e, err := schemas.Sign(g, admin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := appendSigned(s, origin, signer, verifier, [][]byte{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, err := run(t, "verify", "--data", dir)
	if err == nil || !strings.Contains(out, "FAILED at entry 6") || !strings.Contains(out, "unknown agency key") {
		t.Fatalf("verify of a ledger with a refused governance record: err %v, output:\n%s", err, out)
	}
}

// TestVerifySaysWhyOnce: an entry whose signature fails is found by the
// verification's workers, not the ordered pass, and is still reported as
// the ordered check words a refusal: "FAILED at entry N: entry N rejected by
// check: <reason>", the reason once.
func TestVerifySaysWhyOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "5"); err != nil {
		t.Fatal(err)
	}
	origin := schemas.LedgerOrigin("330000")
	signer, verifier, _, _, err := genKeys(dir, origin, "330000")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Log(origin).Entry(3)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), e...)
	i := len(bad) - 12 // inside the 88 base64 characters of the signature
	if bad[i] == 'A' {
		bad[i] = 'B'
	} else {
		bad[i] = 'A'
	}
	if err := appendSigned(s, origin, signer, verifier, [][]byte{bad}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, err := run(t, "verify", "--data", dir)
	want := origin + ": FAILED at entry 6: entry 6 rejected by check: "
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("verify of a ledger with a bad signature: err %v, want %q in:\n%s", err, want, out)
	}
	line := out[strings.Index(out, want):]
	line, _, _ = strings.Cut(line, "\n")
	if strings.Count(line, "entry 6") != 2 {
		t.Errorf("the reason is repeated or the entry not named twice (FAILED at, rejected by): %s", line)
	}
	t.Log(line)
}
