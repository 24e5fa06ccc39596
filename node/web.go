package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// The node's web pages (package console renders them; these handlers
// gather what they show).

// pages renders every page; the subject page offers objectionGrounds.
var pages = console.New(objectionGrounds)

type pageBase = console.Base

func (n *Node) base(title string) pageBase {
	return pageBase{Title: title, Region: n.cfg.Region, Name: n.cfg.Name, Replica: n.cfg.ReplicaID, Now: time.Now().UTC().Format("2006-01-02 15:04:05 MST")}
}

func (n *Node) render(w http.ResponseWriter, page string, data any) {
	n.renderStatus(w, http.StatusOK, page, data)
}

// renderStatus is render with an HTTP status other than 200.
func (n *Node) renderStatus(w http.ResponseWriter, status int, page string, data any) {
	pages.Render(w, status, page, data)
}

type ledgerRow struct {
	Origin                    string
	Own, Witnessed            bool
	Size, CheckpointSize, Lag uint64
	Cosignatures              int
}

// handleStatusPage shows every ledger this node holds, own and mirrored.
func (n *Node) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	_, leader := n.rep.Raft.LeaderWithID()
	xs, _ := n.ExchangeStatus()
	alerts := 0
	witnessed := map[string]bool{}
	if xs != nil {
		alerts = xs.Alerts
		for _, m := range xs.Mirrors {
			witnessed[m.Origin] = m.Witnessed
		}
		witnessed[n.origin] = xs.Witnessed > 0 && xs.Witnessed == xs.Size
	}
	notApplied, err := n.NotApplied()
	if err != nil {
		http.Error(w, "reading the listings this member applies no measure of: "+err.Error(), http.StatusInternalServerError)
		return
	}
	calState, err := n.CalendarState()
	if err != nil {
		http.Error(w, "reading the adopted working-day calendar: "+err.Error(), http.StatusInternalServerError)
		return
	}
	replicaErr := ""
	replicas, err := n.replicaHealth(r.Context())
	if err != nil {
		replicaErr = err.Error()
	}
	var rows []ledgerRow
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		for _, origin := range tx.Origins() {
			if strings.HasSuffix(origin, "/access") {
				continue
			}
			lr := tx.Log(origin)
			row := ledgerRow{Origin: origin, Own: origin == n.origin, Size: lr.Size(), Witnessed: witnessed[origin]}
			if cp, err := lr.Checkpoint(); err == nil {
				row.CheckpointSize = checkpointSize(cp)
				row.Cosignatures = bytes.Count(cp, []byte("\n— ")) - 1
				if row.Own && n.x != nil {
					if wcp := n.witnessedCheckpoint(tx); wcp != nil {
						row.Cosignatures = bytes.Count(wcp, []byte("\n— ")) - 1
					}
				}
			}
			if row.CheckpointSize > row.Size {
				row.Lag = row.CheckpointSize - row.Size
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.render(w, "status", struct {
		pageBase
		Leader  string
		Alerts  int
		Member  bool
		Ledgers []ledgerRow
		// issue 12: listings this member applies no measure of, and
		// deadlines still provisional (calendar.go, notapplied.go)
		NotApplied int
		Calendar   CalendarState
		Replicas   []ReplicaHealth // issue 18: every replica's health (status_page.go)
		ReplicaErr string
	}{n.base("成员状态 Member status"), string(leader), alerts, n.x != nil, rows, len(notApplied), calState, replicas, replicaErr})
}

type noticeCounts struct{ Total, Pending, Answered, Overdue, Lifted int }

// handleAuditPage is the auditor's view: the closed loop of this member's
// notices, the access log, and entries that could not be indexed.
func (n *Node) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	if id := pki.IdentityFromRequest(r); id.Role == pki.RolePublic && strings.Contains(r.Header.Get("Accept"), "text/html") {
		// A browser without the auditor's certificate gets a page saying
		// how to get in, not the API's JSON error.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(console.AuditLoginPage))
		return
	}
	id, ok := n.require(w, r, pki.RoleAudit, pki.RoleAdmin)
	if !ok {
		return
	}
	all, err := n.notices(nil, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var c noticeCounts
	var open []NoticeView
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
	// A part that cannot be read fails the page rather than showing "none".
	calState, err := n.CalendarState() // covered years, provisional deadlines (adopted.go)
	if err != nil {
		http.Error(w, "reading the adopted working-day calendar: "+err.Error(), http.StatusInternalServerError)
		return
	}
	notApplied, err := n.NotApplied() // listings this member applies no measure of (notapplied.go)
	if err != nil {
		http.Error(w, "reading the listings this member applies no measure of: "+err.Error(), http.StatusInternalServerError)
		return
	}
	conflicts, err := n.Conflicts() // same act listed twice, red and black (conflicts.go)
	if err != nil {
		http.Error(w, "reading conflicting listings: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var access []AccessRecord
	var accessSize uint64
	bad := 0
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		lr := tx.Log(n.access)
		accessSize = lr.Size()
		start := uint64(0)
		if accessSize > 20 {
			start = accessSize - 20
		}
		if err := lr.ForEach(start, accessSize, func(_ uint64, e []byte) error {
			var a AccessRecord
			if json.Unmarshal(e, &a) == nil {
				access = append([]AccessRecord{a}, access...)
			}
			return nil
		}); err != nil {
			return err
		}
		if b := tx.Bucket(bucketBad); b != nil {
			bad = b.Stats().KeyN
		}
		return nil
	}); err != nil {
		n.logger.Error("audit page: reading the access log failed", "err", err)
		http.Error(w, "reading the access log failed on this replica", http.StatusInternalServerError)
		return
	}
	n.render(w, "audit", struct {
		pageBase
		Who, Role  string
		Notices    noticeCounts
		Open       []NoticeView
		Access     []AccessRecord
		AccessSize uint64
		Bad        int
		Calendar   CalendarState
		NotApplied []NotAppliedListing
		Conflicts  []RecordedConflict
		Chart      console.BarChart // issue 18: the notice loop as an inline SVG chart
	}{n.base("审计 Audit"), id.Name, string(id.Role), c, open, access, accessSize, bad, calState, notApplied, conflicts,
		console.NewBarChart([]console.Bar{{Label: "已反馈 answered", Class: "ok", Value: c.Answered}, {Label: "待反馈 pending", Class: "warn", Value: c.Pending},
			{Label: "逾期 overdue", Class: "bad", Value: c.Overdue}, {Label: "已解除 lifted", Class: "muted", Value: c.Lifted}})})
}

// memberCode is the member code of a ledger origin ("creditx.330000/ledger"
// -> "330000"), as in /records/{code}/{index}.
func memberCode(origin string) string { return console.MemberCode(origin) }
