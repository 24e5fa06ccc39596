package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// TestBenchCheckCounts runs "creditx bench check" on a local region, with
// single GETs and with batched POSTs: every requested check is answered,
// and about half of the subjects (the listed ones) come back restricted.
func TestBenchCheckCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and loads listings")
	}
	re := regexp.MustCompile(`checks: (\d+) \((\d+) restricted\) in (\d+) requests`)
	for _, tc := range []struct {
		batch    string
		requests int
	}{{"1", 300}, {"50", 6}} {
		out, err := run(t, "bench", "check", "--local", "1", "--listings", "100", "--n", "300", "--concurrency", "4", "--batch", tc.batch)
		if err != nil {
			t.Fatalf("--batch %s: %v\n%s", tc.batch, err, out)
		}
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("--batch %s: no summary line in:\n%s", tc.batch, out)
		}
		checks, _ := strconv.Atoi(m[1])
		restricted, _ := strconv.Atoi(m[2])
		requests, _ := strconv.Atoi(m[3])
		if checks != 300 || requests != tc.requests {
			t.Errorf("--batch %s: %d checks in %d requests, want 300 in %d", tc.batch, checks, requests, tc.requests)
		}
		if restricted < 90 || restricted > 210 {
			t.Errorf("--batch %s: %d of 300 restricted; half the subjects are listed", tc.batch, restricted)
		}
	}
	if _, err := run(t, "bench", "check", "--local", "1", "--listings", "10", "--n", "10", "--batch", "1001"); err == nil {
		t.Error("--batch 1001 accepted")
	}
}

// TestBenchCheckDirectReuse: "bench check --direct --local-dir D" loads
// the listings into D and keeps it; a second run with the same D starts
// that region as it is (no second load: the ledger keeps its size) and
// finds the listings (about half the checked subjects restricted), also
// with the clients on two connections.
func TestBenchCheckDirectReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node twice and loads listings")
	}
	dir := filepath.Join(t.TempDir(), "region")
	re := regexp.MustCompile(`checks: (\d+) \((\d+) restricted\)`)
	size := func() uint64 {
		t.Helper()
		s, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var n uint64
		s.View(func(tx *ledger.ReadTx) error { n = tx.Log(schemas.LedgerOrigin("330000")).Size(); return nil })
		return n
	}
	var sizes []uint64
	for run1 := range 2 {
		args := []string{"bench", "check", "--local", "1", "--notices=false", "--direct", "--listings", "200", "--n", "200", "--concurrency", "4", "--local-dir", dir}
		if run1 == 1 {
			args = append(args, "--conns", "2") // the clients on two connections
		}
		out, err := run(t, args...)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run1+1, err, out)
		}
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("run %d: no summary line in:\n%s", run1+1, out)
		}
		if restricted, _ := strconv.Atoi(m[2]); restricted < 50 || restricted > 150 {
			t.Errorf("run %d: %d of 200 restricted; half the subjects are listed", run1+1, restricted)
		}
		sizes = append(sizes, size())
	}
	if sizes[0] < 200 || sizes[1] != sizes[0] {
		t.Errorf("ledger size %d after the first run, %d after the second: want >= 200, unchanged", sizes[0], sizes[1])
	}
}
