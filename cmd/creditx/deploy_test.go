package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestDeployCompose(t *testing.T) {
	out := filepath.Join(t.TempDir(), "delta")
	got, err := runCmd(t, newDeployCmd(), "compose", "--out", out, "--members", "310000,320000", "--city", "330100", "--replicas", "3", "--base-port", "31000")
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"consortium of 3 members", "https://sh:8443", "js-3", "https://127.0.0.1:31006", "OFFLINE now"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "320000", "js-2", "node.yaml")); err != nil {
		t.Error(err)
	}
	if _, err := runCmd(t, newDeployCmd(), "compose", "--out", out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second run into the same directory: %v", err)
	}
	if _, err := runCmd(t, newDeployCmd(), "compose", "--out", t.TempDir()+"/x", "--replicas", "2"); err == nil || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("--replicas 2: %v", err)
	}
}

func TestHealth(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte("no raft leader\n"))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	for _, tc := range []struct {
		name   string
		status int
		args   []string
		want   string // "" = healthy
	}{
		{"ready", 200, []string{"--url", srv.URL + "/readyz", "--cacert", ca}, ""},
		{"not ready", 503, []string{"--url", srv.URL + "/readyz", "--cacert", ca}, "503"},
		{"untrusted", 200, []string{"--url", srv.URL + "/readyz"}, "certificate"},
		{"no server", 200, []string{"--url", "https://127.0.0.1:1/readyz", "--cacert", ca}, "refused"},
	} {
		status = tc.status
		out, err := runCmd(t, newHealthCmd(), tc.args...)
		if tc.want == "" {
			if err != nil || !strings.Contains(out, "healthy") {
				t.Errorf("%s: %v %s", tc.name, err, out)
			}
			continue
		}
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want exit 1 mentioning %q", tc.name, err, tc.want)
		}
	}
}
