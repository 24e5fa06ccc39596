package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeDemoThenAudit: the README's pair, "creditx demo --out DIR
// --exit" then "creditx audit --dir DIR", gives a true PASSED: every check
// named ran against the manifest the demo wrote beside its trees (witness
// quorum and agency signatures included), and nothing is left in the
// temporary directory. A bundle of DIR audited without --manifest is
// UNVERIFIED (exit 2); with it, PASSED.
func TestReadmeDemoThenAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := filepath.Join(t.TempDir(), "delta")
	out, err := run(t, "demo", "--out", dir, "--exit", "--listings", "2")
	if err != nil || !strings.Contains(out, "OK: every mirror verified, every checkpoint witnessed.") {
		t.Fatalf("demo --out --exit: %v\n%s", err, out)
	}
	if left := demoTempDirs(t, tmp); len(left) != 0 {
		t.Errorf("demo --exit left %v behind", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.yaml")); err != nil {
		t.Fatalf("demo --out wrote no manifest.yaml: %v", err)
	}
	html := filepath.Join(t.TempDir(), "audit.html")
	out, err = runAudit(t, "audit", "--dir", dir, "--html", html, "--quiet")
	if err != nil {
		t.Fatalf("README pair: audit --dir: %v\n%s", err, out)
	}
	for _, want := range []string{": PASSED: ", "Checked: Merkle trees of 16 ledger copies", "Checked: checkpoint signatures against the independent log keys",
		"Checked: witness cosignature quorum", "Checked: every agency signature and the key's validity"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Not checked") || strings.Contains(out, "warning: ") {
		t.Errorf("PASSED with checks not run or warnings:\n%s", out)
	}
	if h, _ := os.ReadFile(html); !strings.Contains(string(h), `class="verdict PASSED"`) {
		t.Error("the HTML banner of a full PASSED is not the PASSED one")
	}

	bundle := filepath.Join(t.TempDir(), "delta.tgz")
	if _, err := runAudit(t, "audit", "bundle", "--dir", dir, "--out", bundle); err != nil {
		t.Fatal(err)
	}
	out, err = runAudit(t, "audit", "--bundle", bundle, "--quiet")
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(out, ": UNVERIFIED: ") {
		t.Fatalf("bundle without --manifest: %v, want UNVERIFIED, exit 2\n%s", err, out)
	}
	out, err = runAudit(t, "audit", "--bundle", bundle, "--manifest", filepath.Join(dir, "manifest.yaml"), "--quiet")
	if err != nil || !strings.Contains(out, ": PASSED: ") || !strings.Contains(out, "Checked: the audited data's own manifest against the independent one") {
		t.Fatalf("bundle with the same manifest: %v\n%s", err, out)
	}
	// usage error: exit 3
	if _, err := runAudit(t, "audit", "--dir", dir, "--bundle", bundle); !errors.As(err, &ec) || ec.ExitCode() != 3 {
		t.Errorf("--dir and --bundle together: %v, want exit 3", err)
	}
}
