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

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
)

// TestDemoExit runs the whole demo scenario with --out and --exit and checks
// that it reports success and leaves a verified, witnessed tree for every
// member and origin.
func TestDemoExit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	data, outDir := filepath.Join(t.TempDir(), "data"), t.TempDir()
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, slog.New(slog.DiscardHandler),
		demoOptions{dir: data, out: outDir, exit: true, perMember: 5, timeout: 60 * time.Second})
	t.Log(out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if !strings.Contains(out.String(), "OK: every mirror verified, every checkpoint witnessed.") {
		t.Fatal("demo did not report success")
	}
	if strings.Contains(out.String(), "mirrored [") || strings.Contains(out.String(), "mirrors creditx.") {
		t.Error("progress lines in the demo's output (progress goes to a terminal's stderr only)")
	}
	if _, err := os.Stat(filepath.Join(outDir, "manifest.yaml")); err != nil {
		t.Errorf("--out has no manifest.yaml for the audit: %v", err)
	}
	for _, m := range []string{"310000", "320000", "330000", "340000"} {
		for _, o := range []string{"310000", "320000", "330000", "340000"} {
			cp, err := os.ReadFile(filepath.Join(outDir, m, o, ledger.ExportCheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			// origin, size, root, blank line, log signature and at least two cosignatures
			if n := strings.Count(string(cp), "\n— "); n < 3 {
				t.Errorf("%s/%s checkpoint has %d signature lines, want >= 3:\n%s", m, o, n, cp)
			}
		}
	}
}

// TestMirrorCell: the summary names a mirror's state unless it is
// mirroring.
func TestMirrorCell(t *testing.T) {
	for _, tc := range []struct {
		mr   exchange.MirrorStatus
		want string
	}{
		{exchange.MirrorStatus{Code: "320000", Size: 12, Witnessed: true, State: exchange.MirrorMirroring}, "320000:12w"},
		{exchange.MirrorStatus{Code: "320000", State: exchange.MirrorNoCheckpoint}, "320000:0(origin has no checkpoint yet)"},
		{exchange.MirrorStatus{Code: "320000", Size: 5, Stopped: true, State: exchange.MirrorStopped}, "320000:5(STOPPED)"},
		{exchange.MirrorStatus{Code: "320000", Size: 7, Witnessed: true, State: exchange.MirrorMirroring, Loop: &exchange.LoopStatus{ProofsRefused: 3}},
			"320000:7w(3 loop proofs refused)"},
		{exchange.MirrorStatus{Code: "320000", Size: 7, Witnessed: true, State: exchange.MirrorMirroring, Loop: &exchange.LoopStatus{Followed: 4}}, "320000:7w"},
	} {
		if got := mirrorCell(tc.mr); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.mr, got, tc.want)
		}
	}
}
