package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/sanctions/catalogue"
)

// TestHintConnectionRefused: a command aimed at a node that is not running
// says what to do, not only "connection refused".
func TestHintConnectionRefused(t *testing.T) {
	_, dir := startNode(t)
	creds, err := client.LoadCredentials(dir + "/agencies/executor")
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
	_, err = client.LoadCredentials(dir + "/agencies/nobody")
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

// TestAuditPageWithoutCertificate: a browser without the auditor's
// certificate gets a page saying how to import one, and the openssl line it
// gives makes a PKCS#12 file from the dev credentials.
func TestAuditPageWithoutCertificate(t *testing.T) {
	n, dir := startNode(t)
	pem, err := os.ReadFile(filepath.Join(dir, "agencies", "auditor", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", n.URL()+"/audit", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "openssl pkcs12 -export") {
		t.Fatalf("%s %s\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to try the page's command")
	}
	line := string(body[strings.Index(string(body), "openssl pkcs12"):])
	line = line[:strings.Index(line, "</pre>")]
	line = strings.ReplaceAll(line, "creditx-data/", dir+"/")
	line = strings.ReplaceAll(line, "auditor.p12", filepath.Join(t.TempDir(), "auditor.p12"))
	if out, err := exec.Command("bash", "-c", line).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
}
