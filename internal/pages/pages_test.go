package pages

import (
	"net/url"
	"strings"
	"testing"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/console"
)

// TestParseRegister: an unknown domain, a bad date and a bad cursor are
// problems for the page (answered 400), each named; a good query is none.
func TestParseRegister(t *testing.T) {
	p, _ := ParseRegister(url.Values{"domain": {"nowhere"}, "since": {"yesterday"}, "cursor": {"%%%"}}, console.Base{Title: "t"})
	if len(p.Problems) != 3 || !strings.Contains(p.Problems[0], "domain") || !strings.Contains(p.Problems[1], "since") {
		t.Errorf("problems = %q", p.Problems)
	}
	p, _ = ParseRegister(url.Values{"q": {"  acme "}, "since": {"2026-01-02"}}, console.Base{Title: "t"})
	if len(p.Problems) != 0 || p.Filter.Q != "acme" || p.Filter.SinceDate.IsZero() || p.Title != "t" {
		t.Errorf("page = %+v", p)
	}
}

// TestCountNotices counts by state; the open notices are the pending and
// overdue ones in the order given.
func TestCountNotices(t *testing.T) {
	all := []api.NoticeView{{Index: 1, State: "pending"}, {Index: 2, State: "answered"}, {Index: 3, State: "overdue"}, {Index: 4, State: "lifted"}, {Index: 5, State: "pending"}}
	c, open := CountNotices(all)
	if c != (NoticeCounts{Total: 5, Pending: 2, Answered: 1, Overdue: 1, Lifted: 1}) {
		t.Errorf("counts = %+v", c)
	}
	if len(open) != 3 || open[0].Index != 1 || open[1].Index != 3 || open[2].Index != 5 {
		t.Errorf("open = %+v", open)
	}
	if ch := NoticeChart(c); len(ch.Bars) != 4 || ch.Bars[1].Value != 2 {
		t.Errorf("chart = %+v", ch)
	}
}

func TestCheckpointSize(t *testing.T) {
	if got := checkpointSize([]byte("creditx.330000/ledger\n42\nhash=\n\n— sig\n")); got != 42 {
		t.Errorf("checkpointSize = %d", got)
	}
}
