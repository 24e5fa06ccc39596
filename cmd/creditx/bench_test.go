package main

import (
	"regexp"
	"strconv"
	"testing"
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
