package node_test

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creditx/creditx/internal/synth"
	"github.com/creditx/creditx/schemas"
)

// chromium finds the headless browser from Debian's chromium package.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// screenshotDir is where page screenshots are kept: $CREDITX_SCREENSHOTS
// (set by .ci/run) or a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CREDITX_SCREENSHOTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

// TestWebPagesInChromium loads the public register and the member status
// page in real headless Chromium and checks they show the node's data.
func TestWebPagesInChromium(t *testing.T) {
	exe := chromium(t)
	tn := startNode(t)
	pub := tn.creds["publisher"]
	var entries [][]byte
	var names []string
	for i, d := range []string{"environment", "tourism", "food_drug", "product_quality"} {
		l, err := synth.Listing(uint64(900+i), synth.Options{Region: "330000", Authority: schemas.Agency{Name: pub.Identity.Name, USCC: pub.Identity.ID},
			Domain: d, MatchKey: *pub.MatchKey, Rand: rand.Reader, Now: time.Now().UTC().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := pub.Sign(l)
		entries = append(entries, e)
		names = append(names, l.Subject.Name)
	}
	restricted := tn.listing(t, 950, func(l *schemas.Listing) { l.Disclosure = "restricted" })
	entries = append(entries, restricted)
	if _, err := pub.Submit(context.Background(), tn.url, entries...); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Flag("ignore-certificate-errors", true),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var register, status string
	var shot1, shot2 []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(tn.url+"/"),
		chromedp.WaitVisible("#register"),
		chromedp.Text("#register", &register),
		chromedp.FullScreenshot(&shot1, 100),
		chromedp.Navigate(tn.url+"/status"),
		chromedp.WaitVisible("#ledgers"),
		chromedp.Text("#ledgers", &status),
		chromedp.FullScreenshot(&shot2, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir(t)
	os.WriteFile(filepath.Join(dir, "register.png"), shot1, 0o644)
	os.WriteFile(filepath.Join(dir, "status.png"), shot2, 0o644)
	for _, name := range names {
		if !strings.Contains(register, name) {
			t.Errorf("register does not list %s:\n%s", name, register)
		}
	}
	if strings.Contains(register, "合成样例企业00000950") {
		t.Error("register shows a listing whose disclosure is restricted")
	}
	if strings.Contains(register, "h1:") {
		t.Error("register shows a keyed hash")
	}
	if !strings.Contains(status, "creditx.330000/ledger") {
		t.Errorf("status page lacks the own ledger:\n%s", status)
	}
	// Search narrows the register.
	var searched string
	if err := chromedp.Run(ctx, chromedp.Navigate(tn.url+"/?q="+names[1]), chromedp.WaitVisible("#register"), chromedp.Text("#register", &searched)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(searched, names[1]) || strings.Contains(searched, names[0]) {
		t.Errorf("search for %s shows:\n%s", names[1], searched)
	}
	t.Logf("screenshots in %s", dir)
}

// TestAuditPage: the auditor's page needs an audit or admin certificate and
// shows the notice loop and the access log.
func TestAuditPage(t *testing.T) {
	tn := startNode(t)
	if _, err := tn.creds["publisher"].Submit(context.Background(), tn.url, tn.listing(t, 960, nil)); err != nil {
		t.Fatal(err)
	}
	tn.settledSize(t)
	code, _ := do(t, tn.client("public"), "GET", tn.url+"/audit", nil)
	if code != 401 {
		t.Errorf("public GET /audit: %d, want 401", code)
	}
	code, body := do(t, tn.client("auditor"), "GET", tn.url+"/audit", nil)
	if code != 200 || !strings.Contains(string(body), "sanction notices issued") || !strings.Contains(string(body), "pending") {
		t.Fatalf("auditor GET /audit: %d\n%.500s", code, body)
	}
}
