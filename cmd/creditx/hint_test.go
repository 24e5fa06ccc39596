package main

import (
	"context"
	"strings"
	"testing"

	"github.com/creditx/creditx/node"
	"github.com/creditx/creditx/sanctions/catalogue"
)

// TestHintConnectionRefused: a command aimed at a node that is not running
// says what to do, not only "connection refused".
func TestHintConnectionRefused(t *testing.T) {
	_, dir := startNode(t)
	creds, err := node.LoadCredentials(dir + "/agencies/executor")
	if err != nil {
		t.Fatal(err)
	}
	err = creds.Get(context.Background(), "https://127.0.0.1:"+freePort(t)+"/v1/status", nil)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if h := hint(err); !strings.Contains(h, "creditx serve") {
		t.Errorf("hint for %v: %q", err, h)
	}
	_, err = node.LoadCredentials(dir + "/agencies/nobody")
	if h := hint(err); !strings.Contains(h, "does not exist") {
		t.Errorf("hint for %v: %q", err, h)
	}
}

func runRoot(args ...string) (string, error) {
	root := newRootCmd()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestHelpVersionAndUsageHints: a build names itself, check --help lists
// every action the node accepts, and a wrong flag, a missing argument or an
// unknown action says what to do.
func TestHelpVersionAndUsageHints(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runRoot(args...)
		if err != nil || !strings.HasPrefix(out, "creditx ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
	out, _ := runRoot("check", "--help")
	for _, a := range catalogue.Actions() {
		if !strings.Contains(out, a) {
			t.Errorf("check --help does not list action %s", a)
		}
	}
	if _, err := runRoot("check", "--bogus"); err == nil || !strings.Contains(err.Error(), "creditx check --help") {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := runRoot("check", "--creds", "x"); err == nil || !strings.Contains(err.Error(), "Usage: creditx check") {
		t.Errorf("missing argument: %v", err)
	}
	if _, err := runRoot("check", "--creds", "x", "--action", "buying", "913300000000007729"); err == nil || !strings.Contains(err.Error(), "office_holding") {
		t.Errorf("unknown action: %v", err)
	}
	out, _ = runRoot("demo", "--help")
	if !strings.Contains(out, "manifest.yaml") {
		t.Error("demo --help does not say where the manifest goes")
	}
}
