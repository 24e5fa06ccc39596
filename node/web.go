package node

import (
	"context"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/internal/pages"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// The node's web pages: package pages gathers what /status, /audit and the
// register (/) show from what these handlers read of the node; package
// console renders them.

// Wire types of the pages (package api).
type (
	ReplicaHealth = api.ReplicaHealth
)

// webPages renders every page; the subject page offers objectionGrounds.
var webPages = console.New(objectionGrounds)

type pageBase = console.Base

func (n *Node) base(title string) pageBase {
	return pageBase{Title: title, Region: n.cfg.Region, Name: n.cfg.Name, Replica: n.cfg.ReplicaID, Now: time.Now().UTC().Format("2006-01-02 15:04:05 MST")}
}

func (n *Node) render(w http.ResponseWriter, page string, data any) {
	n.renderStatus(w, http.StatusOK, page, data)
}

// renderStatus is render with an HTTP status other than 200.
func (n *Node) renderStatus(w http.ResponseWriter, status int, page string, data any) {
	webPages.Render(w, status, page, data)
}

// handleStatusPage shows every ledger this node holds, own and mirrored.
func (n *Node) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	_, leader := n.rep.Raft.LeaderWithID()
	xs, _ := n.ExchangeStatus()
	p := pages.StatusPage{Base: n.base("成员状态 Member status"), Leader: string(leader), Member: n.x != nil}
	if xs != nil {
		p.Alerts = xs.Alerts
	}
	p.NoCheckpoint = pages.NoCheckpoint(xs)
	notApplied, err := n.NotApplied() // notapplied.go
	if err != nil {
		http.Error(w, "reading the listings this member applies no measure of: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p.NotApplied = len(notApplied)
	if p.Calendar, err = n.CalendarState(); err != nil { // adopted.go
		http.Error(w, "reading the adopted working-day calendar: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if p.Replicas, err = n.replicaHealth(r.Context()); err != nil {
		p.ReplicaErr = err.Error()
	}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		var wcp []byte
		if n.x != nil {
			wcp = n.witnessedCheckpoint(tx, n.origin)
		}
		p.Ledgers = pages.Ledgers(tx, n.origin, xs, wcp)
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.render(w, "status", p)
}

// replicaHealth probes every replica of the region.
func (n *Node) replicaHealth(ctx context.Context) ([]ReplicaHealth, error) {
	cs, err := n.clusterStatus()
	if err != nil {
		return nil, err
	}
	return pages.ProbeReplicas(ctx, n.peer, n.cfg.ReplicaID, cs.Servers), nil
}

// handleAuditPage is the auditor's view: the closed loop of this member's
// notices, the access log, and entries that could not be indexed.
func (n *Node) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	if pages.AuditLogin(w, r) {
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
	p := pages.AuditPage[AccessRecord]{Base: n.base("审计 Audit"), Who: id.Name, Role: string(id.Role)}
	p.Notices, p.Open = pages.CountNotices(all)
	p.Chart = pages.NoticeChart(p.Notices) // issue 18: the notice loop as an inline SVG chart
	// A part that cannot be read fails the page rather than showing "none".
	if p.Calendar, err = n.CalendarState(); err != nil { // covered years, provisional deadlines (adopted.go)
		http.Error(w, "reading the adopted working-day calendar: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if p.NotApplied, err = n.NotApplied(); err != nil { // listings this member applies no measure of (notapplied.go)
		http.Error(w, "reading the listings this member applies no measure of: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if p.Conflicts, err = n.Conflicts(); err != nil { // same act listed twice, red and black (conflicts.go)
		http.Error(w, "reading conflicting listings: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		if p.Access, p.AccessSize, err = pages.AccessTail[AccessRecord](tx, n.access, 20); err != nil {
			return err
		}
		if b := tx.Bucket(bucketBad); b != nil {
			p.Bad = b.Stats().KeyN
		}
		return nil
	}); err != nil {
		n.logger.Error("audit page: reading the access log failed", "err", err)
		http.Error(w, "reading the access log failed on this replica", http.StatusInternalServerError)
		return
	}
	n.render(w, "audit", p)
}

// handleRegister is GET /: the public register (package pages).
func (n *Node) handleRegister(w http.ResponseWriter, r *http.Request) {
	p, cursor := pages.ParseRegister(r.URL.Query(), n.base("公示名单 Register"))
	if len(p.Problems) > 0 {
		n.renderStatus(w, http.StatusBadRequest, "register", p)
		return
	}
	if err := n.fsm.view(func(tx *ledger.ReadTx) error {
		return pages.FillRegister(tx, registerIndex{n}, n.origin, &p, cursor)
	}); err != nil {
		p.Problems = append(p.Problems, err.Error())
		n.renderStatus(w, http.StatusBadRequest, "register", p)
		return
	}
	n.render(w, "register", p)
}

// registerIndex is the node's index as pages.RegisterIndex.
type registerIndex struct{ n *Node }

func (x registerIndex) ListingState(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing, at time.Time) (string, bool) {
	st := x.n.listingState(tx, origin, index, l, at)
	return st.State, st.Disclosed
}

func (x registerIndex) SubjectListings(tx *ledger.ReadTx, key string) []pages.EntryRef {
	var out []pages.EntryRef
	for _, le := range subjectListings(tx, key) {
		if le.kind == kListing {
			out = append(out, pages.EntryRef{Origin: le.origin, Index: le.index})
		}
	}
	return out
}

// memberCode is the member code of a ledger origin ("creditx.330000/ledger"
// -> "330000"), as in /records/{code}/{index}.
func memberCode(origin string) string { return console.MemberCode(origin) }
