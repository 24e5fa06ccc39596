package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHTMLChineseChartsPaging: the HTML report is Chinese first with the
// English beside, draws its charts as inline SVG (lag, feedback and overdue
// deadlines per member, per domain, timeline) without any script, and folds
// a table over PageRows rows into pages.
func TestHTMLChineseChartsPaging(t *testing.T) {
	r := &Report{Verdict: VerdictFailed, At: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Checked: []string{"Merkle trees of 2 ledger copies"}}
	r.Loop.Members = []MemberLoop{{Member: "310000", Listings: 4, Reached: 4, LagP50: 60, LagMax: 120, Notices: 10, InTime: 5, Late: 2, Overdue: 3},
		{Member: "320000", Listings: 4, Reached: 3, LagP50: -1, LagMax: -1}}
	r.Loop.Domains = []DomainLoop{{Domain: "environment", Member: "310000", Notices: 10, InTime: 5, Late: 2, Overdue: 3}}
	r.Loop.Timeline = []TimelinePoint{{Period: "2026-04-30", Listings: 4, Notices: 10}}
	r.Loop.Bucket = "day"
	for i := range 120 {
		r.Loop.OverdueItems = append(r.Loop.OverdueItems, Item{Member: "310000", Origin: "creditx.310000/ledger", Index: uint64(i), What: "feedback", Due: "2026-04-01", Days: 1 + i%30})
		r.Failures = append(r.Failures, Failure{Check: CheckRecord, Origin: "creditx.310000/ledger", Index: int64(i), Reason: fmt.Sprintf("bad %d", i)})
	}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{`<html lang="zh-CN">`, "审计报告", "未通过 FAILED", "完整性错误", "Integrity failures", "超期事项", "按时反馈 in time",
		`aria-label="各成员传播时延`, `aria-label="各成员反馈情况`, `aria-label="各成员超期事项`, `aria-label="各领域各成员闭环`, `aria-label="每day记录数`,
		"<summary>第 51–100 行 · rows 51–100</summary>", "<summary>第 101–120 行 · rows 101–120</summary>"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	// failures and overdue items: two folded pages each
	if n := strings.Count(h, "<details>"); n != 4 {
		t.Errorf("%d folded pages, want 4 (rows 51-100 and 101-120 of two tables)", n)
	}
	if strings.Contains(h, "<script") || strings.Contains(h, "src=") || strings.Contains(h, "href=\"http") {
		t.Error("the HTML report loads a script or an external resource")
	}
	if strings.Contains(h, `class="verdict PASSED"`) {
		t.Error("a FAILED report with a green banner")
	}
}
