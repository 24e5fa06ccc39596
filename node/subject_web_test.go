package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creditx/creditx/subjecttoken"
)

// TestSubjectPageInChromium: at desktop (1280) and phone (390) widths, a
// firm enters its token on /subject, sees its listing in Chinese, files an
// objection through the form and sees it pending with its deadline; the
// register filters and the record page render in Chinese; no page is wider
// than the screen. Screenshots go to $CREDITX_SCREENSHOTS.
func TestSubjectPageInChromium(t *testing.T) {
	exe := chromium(t)
	f := newSubjectFixture(t)
	f.tn.settledSize(t)
	dir := screenshotDir(t)
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			// A fresh token per width: the objection of the first run
			// suspends the listing, the second objects again (allowed).
			tok := f.issue(t, subjecttoken.IssueRequest{USCC: f.usccA, Name: "合成样例企业"})
			opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Flag("ignore-certificate-errors", true),
				chromedp.NoSandbox, chromedp.WindowSize(width, 900))
			actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
			defer cancel()
			ctx, cancel := chromedp.NewContext(actx)
			defer cancel()
			ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			shot := func(name string) chromedp.Action {
				return chromedp.ActionFunc(func(ctx context.Context) error {
					var b []byte
					if err := chromedp.FullScreenshot(&b, 100).Do(ctx); err != nil {
						return err
					}
					return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width)), b, 0o644)
				})
			}
			var overflow []string
			fits := func(name string) chromedp.Action {
				return chromedp.ActionFunc(func(ctx context.Context) error {
					var sw int
					if err := chromedp.Evaluate(`document.documentElement.scrollWidth`, &sw).Do(ctx); err != nil {
						return err
					}
					if sw > width+2 {
						overflow = append(overflow, fmt.Sprintf("%s is %dpx wide", name, sw))
					}
					return nil
				})
			}
			var login, who, listing, after, register, filtered, record, status string
			err := chromedp.Run(ctx,
				// headless Chromium's window is at least 500px wide: the
				// phone width is an emulated viewport
				chromedp.EmulateViewport(int64(width), 900),
				chromedp.Navigate(f.tn.url+"/subject"),
				chromedp.WaitVisible("#login"),
				chromedp.Text("main", &login),
				shot("subject-login"), fits("/subject (login)"),
				chromedp.SendKeys(`#login textarea[name=token]`, tok),
				chromedp.Submit(`#login textarea[name=token]`),
				chromedp.WaitVisible("#who"),
				chromedp.Text("#who", &who),
				chromedp.Text("section.listing", &listing),
				shot("subject"), fits("/subject"),
				chromedp.Click(`section.listing details summary`),
				chromedp.Click(`section.listing input[value=fact_error]`),
				chromedp.SendKeys(`section.listing textarea[name=statement]`, "处罚决定已被复议机关撤销，请予移出。"),
				chromedp.Submit(`section.listing textarea[name=statement]`),
				chromedp.WaitVisible("#filed"),
				chromedp.Text("main", &after),
				shot("subject-objection"), fits("/subject (after objection)"),
				chromedp.Navigate(f.tn.url+"/"),
				chromedp.WaitVisible("#register"),
				chromedp.Text("main", &register),
				shot("register"), fits("/"),
				chromedp.Navigate(f.tn.url+"/?domain=tourism"),
				chromedp.WaitVisible("#register"),
				chromedp.Text("#register", &filtered),
				chromedp.Navigate(fmt.Sprintf("%s/records/330000/%d", f.tn.url, f.b.Index)),
				chromedp.WaitVisible("main h2"),
				chromedp.Text("main", &record),
				shot("record"), fits("/records"),
				chromedp.Navigate(f.tn.url+"/status"),
				chromedp.WaitVisible("#replicas"),
				chromedp.Text("#replicas", &status),
				shot("status"), fits("/status"),
			)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ page, text, want string }{
				{"login", login, "查询凭证"},
				{"who", who, "在列"},
				{"listing", listing, "食品药品"}, // 970: food_drug
				{"listing", listing, "惩戒措施通知"},
				{"after", after, "异议已提交"},
				{"after", after, "异议中"},
				{"after", after, "作出决定"},
				{"after", after, "待决定"},
				{"register", register, "严重失信主体名单"},
				{"register", register, "合成样例企业00000971"},
				{"record", record, "认定部门"},
				{"record", record, "合成样例企业00000971"},
				{"status", status, "正常"},
			} {
				if !strings.Contains(c.text, c.want) {
					t.Errorf("%s page lacks %q:\n%s", c.page, c.want, c.text)
				}
			}
			if strings.Contains(register, "合成样例企业00000970") {
				t.Error("register shows the listing under objection")
			}
			if strings.Contains(filtered, "生态环境") {
				t.Errorf("tourism filter shows an environment listing:\n%s", filtered)
			}
			for _, s := range []string{f.respA, f.nameRespA, "h1:"} {
				if strings.Contains(listing+after+register+record, s) {
					t.Errorf("a page shows %q", s)
				}
			}
			for _, o := range overflow {
				t.Errorf("at %dpx %s", width, o)
			}
		})
	}
	t.Logf("screenshots in %s", dir)
}
