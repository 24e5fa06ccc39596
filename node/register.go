package node

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// The public register (issue 18): package console owns the paging (filter,
// cursor, the walk under a scan budget: console.ScanRegister); this file
// checks the query, and decides which entries are on the register
// (registerMatch: published listings of organisations, disclosed now) and
// answers an exact USCC from the subject index.

// registerSource is the register's view of one read transaction.
type registerSource struct {
	n  *Node
	tx *ledger.ReadTx
}

func (s registerSource) Size(origin string) uint64 { return s.tx.Log(origin).Size() }
func (s registerSource) Entry(origin string, index uint64) ([]byte, error) {
	return s.tx.Log(origin).Entry(index)
}
func (s registerSource) Match(f console.RegisterFilter, origin string, index uint64, e []byte) (console.RegisterRow, bool) {
	return s.n.registerMatch(s.tx, f, origin, index, e)
}

// handleRegister is GET /: the public register.
func (n *Node) handleRegister(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := console.RegisterFilter{Q: strings.TrimSpace(q.Get("q")), Domain: q.Get("domain"), Member: q.Get("member"), Programme: strings.TrimSpace(q.Get("programme")), Since: q.Get("since")}
	p := console.RegisterPage{Base: n.base("公示名单 Register"), Filter: f, Domains: schemas.DefaultDomains()}
	if f.Domain != "" && !slices.Contains(p.Domains, f.Domain) {
		p.Problems = append(p.Problems, fmt.Sprintf("领域 domain: %q 不是已知领域", clip(f.Domain)))
	}
	if f.Since != "" {
		t, err := time.Parse("2006-01-02", f.Since)
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("日期 since: %q 不是 YYYY-MM-DD 日期", clip(f.Since)))
		}
		f.SinceDate = schemas.Date{Time: t}
		p.Filter = f
	}
	cursor, err := console.ParseRegisterCursor(q.Get("cursor"))
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
		return console.ScanRegister(registerSource{n, tx}, &p, origins, cursor)
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
func (n *Node) registerMatch(tx *ledger.ReadTx, f console.RegisterFilter, origin string, index uint64, e []byte) (console.RegisterRow, bool) {
	if !bytes.Contains(e, []byte(`"schema":"listing/`)) ||
		f.Domain != "" && !bytes.Contains(e, []byte(`"domain":"`+f.Domain+`"`)) ||
		f.Q != "" && !bytes.Contains(e, []byte(f.Q)) {
		return console.RegisterRow{}, false
	}
	l, err := decodeListing(e)
	// Natural persons are never on the public register, not even masked
	// (issue 14; docs/PRIVACY.md).
	if err != nil || l.Disclosure != "public" || l.Subject.Person != nil ||
		f.Domain != "" && l.Domain != f.Domain || f.Programme != "" && l.Programme.Code != f.Programme ||
		f.Q != "" && !strings.Contains(l.Subject.Name, f.Q) ||
		!f.SinceDate.IsZero() && l.ListedOn.Before(f.SinceDate.Time) {
		return console.RegisterRow{}, false
	}
	st := n.listingState(tx, origin, index, l, time.Now())
	if !st.Disclosed {
		return console.RegisterRow{}, false
	}
	return console.RegisterRow{Subject: l.Subject.Name, Code: l.Subject.USCC, Domain: l.Domain, Programme: l.Programme.Code, Authority: l.Authority.Name,
		Listed: l.ListedOn.String(), Until: l.PublicityEnd.String(), Member: origin, MemberCode: memberCode(origin), State: st.State, Index: index}, true
}

// registerByUSCC answers an exact USCC from the subject index.
func (n *Node) registerByUSCC(tx *ledger.ReadTx, f console.RegisterFilter, origins []string) []console.RegisterRow {
	q := f
	q.Q = ""
	var rows []console.RegisterRow
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
