package node

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// The public register (issue 18): published listings of every member this
// node holds, newest first, in pages found by ledger index, so that a page
// costs the entries it reads and not the size of the ledgers (10^6 listings:
// BenchmarkRegisterPage, BENCHMARKS.md).
//
// A page walks the ledgers in a fixed order (this member's first, then the
// mirrors in origin order), each from its newest entry (or from the cursor)
// down, and stops after PageSize rows or registerScanBudget entries read,
// whichever comes first; the next page starts at the cursor "CODE:INDEX"
// where this one stopped. A filter that matches rarely therefore gives short
// pages with a "继续查找" link rather than a slow one. Filters: domain,
// member, programme code, listed on or after a date, and q (name substring
// or an exact USCC; an exact USCC is answered from the subject index).

// registerPageSize is the rows of one register page.
const registerPageSize = 50

// registerScanBudget bounds the entries one page reads.
const registerScanBudget = 20000

type registerRow struct {
	Subject, Code, Domain, Programme, Authority, Listed, Until, Member, MemberCode, State string
	Index                                                                                 uint64
}

type registerFilter struct {
	Q, Domain, Member, Programme, Since string
	since                               schemas.Date
}

func (f registerFilter) query(cursor string) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "domain": f.Domain, "member": f.Member, "programme": f.Programme, "since": f.Since, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return "/?" + v.Encode()
}

type registerPage struct {
	pageBase
	Filter    registerFilter
	Rows      []registerRow
	Next      string // URL of the next page, "" at the end
	Scanned   int
	Exhausted bool // the scan budget ran out before the page was full
	Domains   []string
	Members   []string
	Problems  []string
}

// handleRegister is GET /: the public register.
func (n *Node) handleRegister(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := registerFilter{Q: strings.TrimSpace(q.Get("q")), Domain: q.Get("domain"), Member: q.Get("member"), Programme: strings.TrimSpace(q.Get("programme")), Since: q.Get("since")}
	p := registerPage{pageBase: n.base("公示名单 Register"), Filter: f, Domains: schemas.DefaultDomains()}
	if f.Domain != "" && !slices.Contains(p.Domains, f.Domain) {
		p.Problems = append(p.Problems, fmt.Sprintf("领域 domain: %q 不是已知领域", clip(f.Domain)))
	}
	if f.Since != "" {
		t, err := time.Parse("2006-01-02", f.Since)
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("日期 since: %q 不是 YYYY-MM-DD 日期", clip(f.Since)))
		}
		f.since = schemas.Date{Time: t}
	}
	cursorCode, cursorIndex, hasCursor, err := parseRegisterCursor(q.Get("cursor"))
	if err != nil {
		p.Problems = append(p.Problems, err.Error())
	}
	if len(p.Problems) > 0 {
		n.renderStatus(w, http.StatusBadRequest, "register", p)
		return
	}
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		origins := n.registerOrigins(tx)
		for _, o := range origins {
			p.Members = append(p.Members, memberCode(o))
		}
		if f.Member != "" {
			if !slices.Contains(p.Members, f.Member) {
				return fmt.Errorf("成员 member: %q 不在本节点 is not held here", clip(f.Member))
			}
			origins = []string{schemas.LedgerOrigin(f.Member)}
		}
		if schemas.DetectIDKind(f.Q) == schemas.IDKindUSCC {
			p.Rows = n.registerByUSCC(tx, f, origins)
			return nil
		}
		started := !hasCursor
		for _, origin := range origins {
			lr := tx.Log(origin)
			i := lr.Size()
			if !started {
				if memberCode(origin) != cursorCode {
					continue
				}
				started, i = true, min(i, cursorIndex+1)
			}
			for ; i > 0; i-- {
				if len(p.Rows) == registerPageSize || p.Scanned == registerScanBudget {
					p.Exhausted = len(p.Rows) < registerPageSize
					p.Next = f.query(fmt.Sprintf("%s:%d", memberCode(origin), i-1))
					return nil
				}
				p.Scanned++
				e, err := lr.Entry(i - 1)
				if err != nil {
					return err
				}
				if row, ok := n.registerMatch(tx, f, origin, i-1, e); ok {
					p.Rows = append(p.Rows, row)
				}
			}
		}
		return nil
	})
	if err != nil {
		p.Problems = append(p.Problems, err.Error())
		n.renderStatus(w, http.StatusBadRequest, "register", p)
		return
	}
	n.render(w, "register", p)
}

// registerOrigins are the ledgers the register shows, own first.
func (n *Node) registerOrigins(tx *ledger.ReadTx) []string {
	out := []string{n.origin}
	for _, o := range tx.Origins() {
		if _, err := schemas.ParseLedgerOrigin(o); o != n.origin && err == nil {
			out = append(out, o)
		}
	}
	return out
}

// registerMatch decides whether entry e (index of origin) is a published
// listing matching f, cheapest tests first.
func (n *Node) registerMatch(tx *ledger.ReadTx, f registerFilter, origin string, index uint64, e []byte) (registerRow, bool) {
	if !bytes.Contains(e, []byte(`"schema":"listing/`)) ||
		f.Domain != "" && !bytes.Contains(e, []byte(`"domain":"`+f.Domain+`"`)) ||
		f.Q != "" && !bytes.Contains(e, []byte(f.Q)) {
		return registerRow{}, false
	}
	l, err := decodeListing(e)
	// Natural persons are never on the public register, not even masked
	// (issue 14; docs/PRIVACY.md).
	if err != nil || l.Disclosure != "public" || l.Subject.Person != nil ||
		f.Domain != "" && l.Domain != f.Domain || f.Programme != "" && l.Programme.Code != f.Programme ||
		f.Q != "" && !strings.Contains(l.Subject.Name, f.Q) ||
		!f.since.IsZero() && l.ListedOn.Before(f.since.Time) {
		return registerRow{}, false
	}
	st := n.listingState(tx, origin, index, l, time.Now())
	if !st.Disclosed {
		return registerRow{}, false
	}
	return registerRow{Subject: l.Subject.Name, Code: l.Subject.USCC, Domain: l.Domain, Programme: l.Programme.Code, Authority: l.Authority.Name,
		Listed: l.ListedOn.String(), Until: l.PublicityEnd.String(), Member: origin, MemberCode: memberCode(origin), State: st.State, Index: index}, true
}

// registerByUSCC answers an exact USCC from the subject index.
func (n *Node) registerByUSCC(tx *ledger.ReadTx, f registerFilter, origins []string) []registerRow {
	q := f
	q.Q = ""
	var rows []registerRow
	for _, le := range subjectListings(tx, f.Q) {
		if le.kind != kListing || !slices.Contains(origins, le.origin) {
			continue
		}
		e, err := tx.Log(le.origin).Entry(le.index)
		if err != nil {
			continue
		}
		if row, ok := n.registerMatch(tx, q, le.origin, le.index, e); ok && row.Code == f.Q {
			rows = append(rows, row)
		}
	}
	return rows
}

func parseRegisterCursor(s string) (code string, index uint64, ok bool, err error) {
	if s == "" {
		return "", 0, false, nil
	}
	code, is, found := strings.Cut(s, ":")
	index, perr := strconv.ParseUint(is, 10, 64)
	if !found || perr != nil || len(code) != 6 {
		return "", 0, false, fmt.Errorf("翻页 cursor: %q 应为 CODE:INDEX", clip(s))
	}
	return code, index, true, nil
}
