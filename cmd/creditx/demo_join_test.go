package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/ledger"
)

// TestDemoJoin: "creditx demo --join 330100 --out DIR --exit" joins the
// city live through the member commands' code paths (no founder
// restarted), exits 0 only when the city is mirrored and verified by every
// founder and witnessed, exports its trees like the others', and the audit
// of DIR passes with the membership history on the ledgers.
func TestDemoJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five members")
	}
	data, outDir := filepath.Join(t.TempDir(), "data"), t.TempDir()
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, slog.New(slog.DiscardHandler),
		demoOptions{dir: data, out: outDir, exit: true, perMember: 3, timeout: 90 * time.Second, join: "330100"})
	t.Log(out.String())
	if err != nil {
		t.Fatalf("demo --join: %v", err)
	}
	for _, want := range []string{"approved by 310000 320000 330000 of 4: version 2 in force on every founder, none restarted",
		"A 330100 listing checked in Shanghai", "-> restricted", "OK: every mirror verified, every checkpoint witnessed."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	all := []string{"310000", "320000", "330000", "340000", "330100"}
	for _, m := range all {
		for _, o := range all {
			cp, err := os.ReadFile(filepath.Join(outDir, m, o, ledger.ExportCheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(cp), "\n— "); n < 3 {
				t.Errorf("%s/%s checkpoint has %d signature lines, want >= 3", m, o, n)
			}
		}
	}
	rep, err := run(t, "audit", "--dir", outDir)
	if err != nil {
		t.Fatalf("audit of the demo with a city: %v\n%s", err, rep)
	}
	if !strings.Contains(rep, "PASSED") || !strings.Contains(rep, "creditx.330100/ledger") ||
		!strings.Contains(rep, "1 approved change(s)") || !strings.Contains(rep, "join 330100 (creditx.310000/ledger#") {
		t.Errorf("audit report:\n%s", rep)
	}
}
