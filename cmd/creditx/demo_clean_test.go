package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoTempDirs lists the demo's temporary data directories under root.
func demoTempDirs(t *testing.T, root string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, "creditx-demo-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// lockedBuffer is an io.Writer a child process and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoRemovesTempDirOnSIGTERM: the demo run as a process, sent SIGTERM
// while its members run, exits and leaves no temporary data directory (it
// holds the region CAs' and admins' private keys); with --keep it stays.
func TestDemoRemovesTempDirOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	for _, keep := range []bool{false, true} {
		tmp := t.TempDir()
		args := "demo --listings 1"
		if keep {
			args += " --keep"
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "CREDITX_TEST_MAIN=1", "CREDITX_TEST_ARGS="+args, "TMPDIR="+tmp)
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// SIGTERM once the members run and the directory exists.
	wait:
		for !strings.Contains(out.String(), "Running; press Ctrl-C to stop") {
			select {
			case err := <-done:
				t.Fatalf("demo exited before running: %v\n%s", err, out.String())
			case <-time.After(100 * time.Millisecond):
				if strings.Contains(out.String(), "Waiting until") && len(demoTempDirs(t, tmp)) == 1 && keep {
					break wait // --keep: SIGTERM mid-scenario, the other path
				}
			}
		}
		if n := len(demoTempDirs(t, tmp)); n != 1 {
			t.Fatalf("%d temporary data directories while the demo runs, want 1", n)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("demo still running 2 minutes after SIGTERM\n%s", out.String())
		}
		left := demoTempDirs(t, tmp)
		if !keep && len(left) != 0 {
			t.Errorf("SIGTERM left %v behind\n%s", left, out.String())
		}
		if keep && len(left) != 1 {
			t.Errorf("--keep: %v left, want the data directory\n%s", left, out.String())
		}
	}
}

// TestDemoRemovesTempDirOnError: a demo that fails (here: --out cannot be
// written, a file is in the way) removes its temporary data directory too,
// and with --exit prints no URL of a server that has exited.
func TestDemoRemovesTempDirOnError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, slog.New(slog.DiscardHandler),
		demoOptions{out: filepath.Join(blocker, "out"), exit: true, perMember: 1, timeout: 60 * time.Second})
	if err == nil {
		t.Fatalf("demo with an unwritable --out succeeded\n%s", out.String())
	}
	if left := demoTempDirs(t, tmp); len(left) != 0 {
		t.Errorf("the failed demo left %v behind", left)
	}
	if strings.Contains(out.String(), "https://") {
		t.Errorf("--exit printed server URLs:\n%s", out.String())
	}
}
