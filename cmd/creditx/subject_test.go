package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/provision"
	"github.com/creditx/creditx/subjecttoken"
)

// TestSubjectIssueCommand: the clerk's command issues a token the node
// accepts, and refuses bad input naming the flags, printing no token.
func TestSubjectIssueCommand(t *testing.T) {
	dir := t.TempDir()
	if _, err := provision.PrepareRegion(dir, "330000", []provision.ReplicaSpec{{ID: "t-1", API: "127.0.0.1:0", Raft: "127.0.0.1:0"}}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		c := newRootCmd()
		c.SetOut(&out)
		c.SetErr(&errb)
		c.SetArgs(args)
		err := c.Execute()
		return out.String(), errb.String(), err
	}
	out, _, err := run("subject", "issue", "--data", dir, "--uscc", synth.EnterpriseUSCC("330000", 5), "--name", "某公司")
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)
	if _, _, _, err := subjecttoken.Parse(tok); err != nil {
		t.Fatalf("issued %q: %v", tok, err)
	}
	out, _, err = run("subject", "issue", "--data", dir, "--citizen-id", synth.PersonID("330000", 5), "--ttl", "24h")
	if err != nil || !strings.HasPrefix(out, subjecttoken.Prefix) || strings.Contains(out, synth.PersonID("330000", 5)) {
		t.Fatalf("person: %q %v", out, err)
	}
	out, _, err = run("subject", "issue", "--data", dir, "--uscc", "91330000XXXXXXXXXX", "--ttl", "48h", "--region", "33")
	if err == nil || out != "" {
		t.Fatalf("bad input: out %q err %v", out, err)
	}
	for _, flag := range []string{"--uscc", "--ttl", "--region"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("error does not name %s: %v", flag, err)
		}
	}
	// Revocation by serial goes to the replica's file.
	st, _, _, _ := subjecttoken.Parse(tok)
	if _, _, err := run("subject", "revoke", "--data", dir, st.Serial); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, node.SubjectRevokedFile))
	if !strings.Contains(string(b), st.Serial) {
		t.Errorf("revocation file: %q", b)
	}
	if _, _, err := run("subject", "revoke", "--data", dir, "not-a-serial"); err == nil {
		t.Error("bad serial accepted")
	}
}
