package pages

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// NoticeCounts counts a member's notices by state.
type NoticeCounts struct{ Total, Pending, Answered, Overdue, Lifted int }

// AuditPage is the data of the auditor's page ("audit" of package
// console); A is the access-log record type (node.AccessRecord).
type AuditPage[A any] struct {
	console.Base
	Who, Role  string
	Notices    NoticeCounts
	Open       []api.NoticeView
	Access     []A
	AccessSize uint64
	Bad        int
	Calendar   api.CalendarState
	NotApplied []api.NotAppliedListing
	Conflicts  []api.RecordedConflict
	Chart      console.BarChart // issue 18: the notice loop as an inline SVG chart
}

// CountNotices counts all by state and returns the open ones (pending
// and overdue), in the order given.
func CountNotices(all []api.NoticeView) (NoticeCounts, []api.NoticeView) {
	var c NoticeCounts
	var open []api.NoticeView
	for _, v := range all {
		c.Total++
		switch v.State {
		case "pending":
			c.Pending++
			open = append(open, v)
		case "overdue":
			c.Overdue++
			open = append(open, v)
		case "answered":
			c.Answered++
		case "lifted":
			c.Lifted++
		}
	}
	return c, open
}

// NoticeChart is the notice loop as a bar chart.
func NoticeChart(c NoticeCounts) console.BarChart {
	return console.NewBarChart([]console.Bar{{Label: "已反馈 answered", Class: "ok", Value: c.Answered}, {Label: "待反馈 pending", Class: "warn", Value: c.Pending},
		{Label: "逾期 overdue", Class: "bad", Value: c.Overdue}, {Label: "已解除 lifted", Class: "muted", Value: c.Lifted}})
}

// AccessTail returns the newest max entries of the access log origin,
// newest first (entries that do not decode as A are left out), and the
// log's size.
func AccessTail[A any](tx *ledger.ReadTx, origin string, max uint64) ([]A, uint64, error) {
	lr := tx.Log(origin)
	size := lr.Size()
	start := uint64(0)
	if size > max {
		start = size - max
	}
	var out []A
	err := lr.ForEach(start, size, func(_ uint64, e []byte) error {
		var a A
		if json.Unmarshal(e, &a) == nil {
			out = append([]A{a}, out...)
		}
		return nil
	})
	return out, size, err
}

// AuditLogin answers 401 with a page saying how to get in, and returns
// true, for a browser without the auditor's certificate (the public asking
// for HTML); an API client gets the API's JSON error from the caller.
func AuditLogin(w http.ResponseWriter, r *http.Request) bool {
	if id := pki.IdentityFromRequest(r); id.Role != pki.RolePublic || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(console.AuditLoginPage))
	return true
}
