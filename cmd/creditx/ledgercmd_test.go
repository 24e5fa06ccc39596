package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// run executes the root command with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestLedgerGenVerifyExport: a generated ledger verifies; its export is read
// back by x/mod's tlog.TileHashReader and note.Open; a byte changed in the
// bbolt file is reported with the entry's index.
func TestLedgerGenVerifyExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "600"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "100"); err != nil { // extend
		t.Fatal(err)
	}
	out, err := run(t, "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "OK, 701 entries verified") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	tiles := filepath.Join(t.TempDir(), "tiles")
	if _, err := run(t, "export", "--data", dir, "--tiles", tiles); err != nil {
		t.Fatal(err)
	}
	vkey, _ := os.ReadFile(filepath.Join(tiles, "vkey"))
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	cpb, _ := os.ReadFile(filepath.Join(tiles, "checkpoint"))
	cp, err := ledger.OpenCheckpoint(cpb, "creditx.330000/ledger", v)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 701 {
		t.Fatalf("exported checkpoint size %d, want 701", cp.Size)
	}
	thr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, dirTiles(tiles))
	if _, err := tlog.TreeHash(int64(cp.Size), thr); err != nil {
		t.Fatalf("x/mod TileHashReader rejects the export: %v", err)
	}

	// Tamper: change one byte of entry 500's text inside ledger.db.
	db := filepath.Join(dir, "ledger.db")
	raw, _ := os.ReadFile(db)
	marker := []byte("合成样例企业00000500有限公司")
	i := bytes.Index(raw, marker)
	if i < 0 {
		t.Fatal("marker not found in ledger.db")
	}
	raw[i+len(marker)-1] ^= 0x01
	os.WriteFile(db, raw, 0o600)
	out, err = run(t, "verify", "--data", dir)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 || !strings.Contains(out, "FAILED at entry 500") {
		t.Fatalf("tampered ledger: err %v, output:\n%s", err, out)
	}
}

// dirTiles adapts an exported C2SP tree to x/mod's TileReader (which names
// tiles tile/8/L/N; C2SP drops the height).
type dirTiles string

func (d dirTiles) Height() int { return 8 }
func (d dirTiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		b, err := os.ReadFile(filepath.Join(string(d), ledger.TilePath(t.L, uint64(t.N), t.W)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestServeSIGINT starts the real binary as a development node, waits until
// it is up, interrupts it, and expects a clean exit.
func TestServeSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "creditx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "development node for creditx.330000/ledger is up") {
				up <- true
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("node did not come up:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("node did not stop within 15s of SIGINT")
	}
	// What it acknowledged (the dev agencies' key registrations) is still there.
	out, err := run(t, "verify", "--data", data)
	if err != nil || !strings.Contains(out, "creditx.330000/ledger: OK, 2 entries") {
		t.Fatalf("verify after restart: %v\n%s", err, out)
	}
}

func TestRegionInit(t *testing.T) {
	out := t.TempDir()
	if _, err := run(t, "region", "init", "--region", "330000", "--out", out, "--replica", "zj-1=127.0.0.1:1,127.0.0.1:2"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca/ca.crt", "agencies/admin/sign.key", "node.yaml", "keys/log.key", "tls/replica/tls.crt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	for _, bad := range [][]string{
		{"--replica", "zj-1=a:1,b:2", "--replica", "zj-2=c:1,d:2"}, // even count
		{"--replica", "zj-1"}, // no addresses
	} {
		args := append([]string{"region", "init", "--region", "330000", "--out", t.TempDir()}, bad...)
		if _, err := run(t, args...); err == nil {
			t.Errorf("region init %v succeeded", bad)
		}
	}
}

// TestExportBundleAudits: "creditx export --bundle" of a node's data writes
// one archive that "creditx audit --bundle" verifies, but with the trust it
// carries only: UNVERIFIED (exit 2), naming what was not checked; with the
// data directory's trust.yaml given as independent trust the record checks
// count, and (a lone ledger has no witnesses) it stays UNVERIFIED for the
// cosignatures only. Giving both --tiles and --bundle, or neither, is refused.
func TestExportBundleAudits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", dir, "--n", "300"); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(t.TempDir(), "audit.tgz")
	if out, err := run(t, "export", "--data", dir, "--bundle", b); err != nil || !strings.Contains(out, "bundle written") {
		t.Fatalf("export --bundle: %v\n%s", err, out)
	}
	out, err := run(t, "audit", "--bundle", b)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(out, "UNVERIFIED") || !strings.Contains(out, "trust.yaml") ||
		!strings.Contains(out, "Not checked: independent trust") {
		t.Fatalf("audit --bundle without independent trust: %v, want exit 2\n%s", err, out)
	}
	out, err = run(t, "audit", "--bundle", b, "--trust", filepath.Join(dir, "trust.yaml"))
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(out, "Checked: every agency signature") ||
		!strings.Contains(out, "Not checked: witness cosignature quorum") || strings.Contains(out, "Not checked: independent trust") {
		t.Fatalf("audit --bundle --trust: %v, want exit 2 for the witnesses only\n%s", err, out)
	}
	if !strings.Contains(out, "301 entries verified") {
		t.Errorf("audit --bundle did not verify all 301 entries:\n%s", out)
	}
	for _, args := range [][]string{{"export", "--data", dir}, {"export", "--data", dir, "--tiles", t.TempDir(), "--bundle", b + "2"}} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
