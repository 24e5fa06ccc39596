package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/ledger"
)

// runAudit runs the root command with the audit subcommand present (the
// lead wires newAuditCmd into root.go; until then the test adds it).
func runAudit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	if c, _, err := root.Find([]string{"audit"}); err != nil || c == root {
		root.AddCommand(newAuditCmd())
	}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestAuditCLI: ledger gen + export + trust.yaml audits clean through
// --dir and through a bundle (UNVERIFIED, exit 2: a lone ledger has no
// witnesses to check), writes JSON and HTML; one changed entry byte makes it
// exit 1 naming that entry.
func TestAuditCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "lg")
	if _, err := run(t, "ledger", "gen", "--dir", data, "--n", "300", "--size", "600"); err != nil {
		t.Fatal(err)
	}
	tiles := filepath.Join(t.TempDir(), "tiles")
	if _, err := run(t, "export", "--data", data, "--tiles", tiles); err != nil {
		t.Fatal(err)
	}
	tb, _ := os.ReadFile(filepath.Join(data, "trust.yaml"))
	os.WriteFile(filepath.Join(tiles, "trust.yaml"), tb, 0o644)
	out := t.TempDir()
	js, page := filepath.Join(out, "a.json"), filepath.Join(out, "a.html")
	stdout, err := runAudit(t, "audit", "--dir", tiles, "--json", js, "--html", page, "--at", "2026-06-01")
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Fatalf("audit: %v, want exit 2 (UNVERIFIED: no witness keys)\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "UNVERIFIED") || !strings.Contains(stdout, "Not checked: witness cosignature quorum: no witness keys known") ||
		!strings.Contains(stdout, "Checked: every agency signature") || !strings.Contains(stdout, "301 entries verified") {
		t.Errorf("summary:\n%s", stdout)
	}
	var rep struct {
		OK   bool `json:"ok"`
		Loop struct {
			Listings int `json:"listings"`
		} `json:"closed_loop"`
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil || !rep.OK || rep.Loop.Listings != 300 {
		t.Errorf("JSON report: %v ok=%v listings=%d", err, rep.OK, rep.Loop.Listings)
	}
	if h, _ := os.ReadFile(page); !bytes.Contains(h, []byte("<svg")) {
		t.Error("HTML report has no chart")
	}

	bundle := filepath.Join(out, "audit.tar.gz")
	if _, err := runAudit(t, "audit", "bundle", "--dir", tiles, "--out", bundle); err != nil {
		t.Fatal(err)
	}
	if stdout, err := runAudit(t, "audit", "--bundle", bundle, "--quiet"); !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Fatalf("audit --bundle: %v, want exit 2\n%s", err, stdout)
	}

	// entry 7 lives in bundle 0 (full: 256 entries)
	p := filepath.Join(tiles, filepath.FromSlash(ledger.EntriesPath(0, 256)))
	eb, _ := os.ReadFile(p)
	es, _ := ledger.ParseEntryBundle(eb)
	off := 0
	for _, e := range es[:7] {
		off += 2 + len(e)
	}
	eb[off+2+len(es[7])/2] ^= 1
	os.WriteFile(p, eb, 0o644)
	stdout, err = runAudit(t, "audit", "--dir", tiles)
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Fatalf("tampered audit: %v, want exit 1\n%s", err, stdout)
	}
	if !strings.Contains(err.Error(), "entry 7") || !strings.Contains(stdout, "entry 7") {
		t.Errorf("the failing entry is not named: %v\n%s", err, stdout)
	}
}

// TestAuditDemoOutput audits what "creditx demo --out" writes, with the
// consortium manifest as the trust: real nodes' ledgers, mirrors and
// cosignatures, and the sanction notices their engines issued.
func TestAuditDemoOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	data, outDir := filepath.Join(t.TempDir(), "data"), t.TempDir()
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, slog.New(slog.DiscardHandler),
		demoOptions{dir: data, out: outDir, exit: true, perMember: 4, timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	js := filepath.Join(t.TempDir(), "a.json")
	stdout, err := runAudit(t, "audit", "--dir", outDir, "--manifest", filepath.Join(data, "manifest.yaml"), "--json", js, "--quiet")
	t.Log(stdout)
	if err != nil {
		t.Fatalf("audit of the demo output: %v", err)
	}
	var rep struct {
		Copies []struct {
			Full      bool     `json:"full_check"`
			Witnessed bool     `json:"witnessed"`
			Cosigners []string `json:"cosigners"`
		} `json:"copies"`
		Warnings []string `json:"warnings"`
		Loop     struct {
			Listings int `json:"listings"`
			Rules    struct {
				Published int `json:"listings"`
				Conflicts []struct {
					Kind    string   `json:"kind"`
					Members []string `json:"members"`
				} `json:"conflicts"`
				NotApplied       []any `json:"not_applied"`
				CatalogueAdopted []any `json:"catalogue_adopted"`
				CatalogueInForce []any `json:"catalogue_in_force"`
			} `json:"rules"`
		} `json:"closed_loop"`
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	// 4 listings per member, and Jiangsu's listing of a Zhejiang act again (demo_loop.go)
	if len(rep.Copies) != 16 || rep.Loop.Listings != 17 {
		t.Errorf("%d copies, %d listings; want 16 and 17", len(rep.Copies), rep.Loop.Listings)
	}
	// Issue 12: the rules with numbers are reported for the demo: the
	// catalogue Zhejiang adopted and the act listed by two members.
	r := rep.Loop.Rules
	if r.Published != 17 || len(r.Conflicts) != 1 || r.Conflicts[0].Kind != "same_act" || strings.Join(r.Conflicts[0].Members, ",") != "320000,330000" ||
		r.NotApplied == nil || len(r.CatalogueAdopted) != 1 || len(r.CatalogueInForce) != 1 {
		t.Errorf("rules section: %+v", r)
	}
	for _, want := range []string{"measures catalogue adopted on the ledgers (catalogue_adopt): 1 record(s); in force:", "conflicting listings in force: 1", "same_act subject"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("audit output lacks %q", want)
		}
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "NOT checked") {
			t.Errorf("record signatures not checked: %s", w)
		}
	}
}

// startLiveDemo runs the demo's four members until the test ends and returns
// Shanghai's URL and the demo's data directory.
func startLiveDemo(t *testing.T) (string, string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	_, url := startDemo(t, demoOptions{dir: data, perMember: 2, timeout: 60 * time.Second})
	return url, data
}

// startDemo runs the demo with opts until the test ends; once its members
// run it returns the demo's output and Shanghai's (310000's) URL.
func startDemo(t *testing.T, opts demoOptions) (*syncBuffer, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := new(syncBuffer)
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, out, slog.New(slog.DiscardHandler), opts) }()
	t.Cleanup(func() { cancel(); <-done })
	for !strings.Contains(out.String(), "Running; press Ctrl-C to stop.") {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("demo: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[0] == "310000" && f[2] == "pages:" {
			return out, strings.TrimSuffix(f[3], "/")
		}
	}
	t.Fatalf("no URL in the demo output:\n%s", out.String())
	return nil, ""
}

// TestAuditLiveWithManifest: "creditx audit --node URL --manifest FILE"
// trusts the members' region CAs from the manifest (as "anchor run" does);
// without them the audit failed with "certificate signed by unknown authority".
func TestAuditLiveWithManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	url, data := startLiveDemo(t)
	stdout, err := runAudit(t, "audit", "--node", url, "--manifest", filepath.Join(data, "manifest.yaml"),
		"--creds", filepath.Join(data, "310000", "agencies", "auditor"), "--quiet")
	if err != nil {
		t.Fatalf("live audit: %v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "PASSED") {
		t.Errorf("live audit did not pass:\n%s", stdout)
	}
}

// TestOperatorMetrics: /metrics carries what an operator is paged about:
// mirror lag and state per origin, unwitnessed entries, alerts, notices
// pending per agency, the access log's size, and the check route's latency.
func TestOperatorMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four members")
	}
	url, data := startLiveDemo(t)
	auditor, err := client.LoadCredentials(filepath.Join(data, "310000", "agencies", "auditor"))
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{
		`creditx_mirror_behind_entries{origin="creditx.320000/ledger"} 0`,
		`creditx_mirror_stopped{origin="creditx.330000/ledger"} 0`,
		`creditx_mirror_witnessed{origin="creditx.340000/ledger"} 1`,
		`creditx_ledger_unwitnessed_entries 0`,
		`creditx_exchange_alerts 0`,
		`creditx_notices{agency="`,
		`state="pending"}`,
		`creditx_access_log_size `,
		`creditx_witness_cosignature_age_seconds{witness="creditx.320000/witness"}`,
		`creditx_http_request_seconds_count{route="GET /v1/check"}`,
	}
	// The demo keeps running (notices, feedback) after it says so: a scrape
	// may fall between an append and its witnessing. Scrape until every
	// series holds or 30 s pass, and judge the last scrape.
	var b []byte
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := auditor.Client.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
	if m := regexp.MustCompile(`creditx_witness_cosignature_age_seconds\{witness="creditx.330000/witness"\} ([0-9.e+-]+)`).FindSubmatch(b); m == nil {
		t.Error("no cosignature age for witness 330000")
	} else if age, err := strconv.ParseFloat(string(m[1]), 64); err != nil || age < 0 || age > 120 {
		t.Errorf("cosignature age %s s, want a fresh cosignature", m[1])
	}
	// The example alerting rules name only series the node exports.
	rules, err := os.ReadFile("../../deploy/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`creditx_[a-z_]+`).FindAllString(string(rules), -1) {
		if !strings.Contains(string(b), "\n"+name) {
			t.Errorf("deploy/alerts.yml uses %s, which /metrics does not export", name)
		}
	}
}
