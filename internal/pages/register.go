package pages

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/creditx/creditx/console"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// The public register (issue 18): package console owns the paging (filter,
// cursor, the walk under a scan budget: console.ScanRegister); this file
// checks the query, decides which entries are on the register
// (RegisterMatch: published listings of organisations, disclosed now) and
// answers an exact USCC from the subject index.

// EntryRef names an entry of a ledger.
type EntryRef struct {
	Origin string
	Index  uint64
}

// RegisterIndex is what the register reads of the node's index, in the
// read transaction tx the caller holds.
type RegisterIndex interface {
	// ListingState is the state of listing l (entry index of origin) at
	// instant at, as the sanctions engine derives it from every event
	// referencing it: its state code and whether it is disclosed.
	ListingState(tx *ledger.ReadTx, origin string, index uint64, l *schemas.Listing, at time.Time) (state string, disclosed bool)
	// SubjectListings are the listing entries indexed under subject key.
	SubjectListings(tx *ledger.ReadTx, key string) []EntryRef
}

// ParseRegister checks the query of GET / and returns the page to fill
// (base shown on it) and the cursor; a page with Problems is answered 400.
func ParseRegister(q url.Values, base console.Base) (console.RegisterPage, *console.RegisterCursor) {
	f := console.RegisterFilter{Q: strings.TrimSpace(q.Get("q")), Domain: q.Get("domain"), Member: q.Get("member"), Programme: strings.TrimSpace(q.Get("programme")), Since: q.Get("since")}
	p := console.RegisterPage{Base: base, Filter: f, Domains: schemas.DefaultDomains()}
	if f.Domain != "" && !slices.Contains(p.Domains, f.Domain) {
		p.Problems = append(p.Problems, fmt.Sprintf("领域 domain: %q 不是已知领域", httpx.Clip(f.Domain)))
	}
	if f.Since != "" {
		t, err := time.Parse("2006-01-02", f.Since)
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("日期 since: %q 不是 YYYY-MM-DD 日期", httpx.Clip(f.Since)))
		}
		f.SinceDate = schemas.Date{Time: t}
		p.Filter = f
	}
	cursor, err := console.ParseRegisterCursor(q.Get("cursor"))
	if err != nil {
		p.Problems = append(p.Problems, err.Error())
	}
	return p, cursor
}

// FillRegister fills p's members and rows from tx: the ledgers held (own,
// the origin own, first), narrowed to p.Filter.Member; an exact USCC is
// answered from the subject index, anything else by a scan from cursor.
// An unknown member is an error for the page's problems.
func FillRegister(tx *ledger.ReadTx, idx RegisterIndex, own string, p *console.RegisterPage, cursor *console.RegisterCursor) error {
	f := p.Filter
	origins := registerOrigins(tx, own)
	for _, o := range origins {
		p.Members = append(p.Members, console.MemberCode(o))
	}
	if f.Member != "" {
		if !slices.Contains(p.Members, f.Member) {
			return fmt.Errorf("成员 member: %q 不在本节点 is not held here", httpx.Clip(f.Member))
		}
		origins = []string{schemas.LedgerOrigin(f.Member)}
	}
	if schemas.DetectIDKind(f.Q) == schemas.IDKindUSCC {
		p.Rows = registerByUSCC(tx, idx, f, origins)
		return nil
	}
	return console.ScanRegister(registerSource{idx, tx}, p, origins, cursor)
}

// registerSource is the register's view of one read transaction.
type registerSource struct {
	idx RegisterIndex
	tx  *ledger.ReadTx
}

func (s registerSource) Size(origin string) uint64 { return s.tx.Log(origin).Size() }
func (s registerSource) Entry(origin string, index uint64) ([]byte, error) {
	return s.tx.Log(origin).Entry(index)
}
func (s registerSource) Match(f console.RegisterFilter, origin string, index uint64, e []byte) (console.RegisterRow, bool) {
	return RegisterMatch(s.tx, s.idx, f, origin, index, e)
}

// registerOrigins are the ledgers the register shows, own first.
func registerOrigins(tx *ledger.ReadTx, own string) []string {
	out := []string{own}
	for _, o := range tx.Origins() {
		if _, err := schemas.ParseLedgerOrigin(o); o != own && err == nil {
			out = append(out, o)
		}
	}
	return out
}

// RegisterMatch decides whether entry e (index of origin) is a published
// listing matching f, cheapest tests first.
func RegisterMatch(tx *ledger.ReadTx, idx RegisterIndex, f console.RegisterFilter, origin string, index uint64, e []byte) (console.RegisterRow, bool) {
	if !bytes.Contains(e, []byte(`"schema":"listing/`)) ||
		f.Domain != "" && !bytes.Contains(e, []byte(`"domain":"`+f.Domain+`"`)) ||
		f.Q != "" && !bytes.Contains(e, []byte(f.Q)) {
		return console.RegisterRow{}, false
	}
	l, err := schemas.DecodeListing(e)
	// Natural persons are never on the public register, not even masked
	// (issue 14; docs/PRIVACY.md).
	if err != nil || l.Disclosure != "public" || l.Subject.Person != nil ||
		f.Domain != "" && l.Domain != f.Domain || f.Programme != "" && l.Programme.Code != f.Programme ||
		f.Q != "" && !strings.Contains(l.Subject.Name, f.Q) ||
		!f.SinceDate.IsZero() && l.ListedOn.Before(f.SinceDate.Time) {
		return console.RegisterRow{}, false
	}
	state, disclosed := idx.ListingState(tx, origin, index, l, time.Now())
	if !disclosed {
		return console.RegisterRow{}, false
	}
	return console.RegisterRow{Subject: l.Subject.Name, Code: l.Subject.USCC, Domain: l.Domain, Programme: l.Programme.Code, Authority: l.Authority.Name,
		Listed: l.ListedOn.String(), Until: l.PublicityEnd.String(), Member: origin, MemberCode: console.MemberCode(origin), State: state, Index: index}, true
}

// registerByUSCC answers an exact USCC from the subject index.
func registerByUSCC(tx *ledger.ReadTx, idx RegisterIndex, f console.RegisterFilter, origins []string) []console.RegisterRow {
	q := f
	q.Q = ""
	var rows []console.RegisterRow
	for _, le := range idx.SubjectListings(tx, f.Q) {
		if !slices.Contains(origins, le.Origin) {
			continue
		}
		e, err := tx.Log(le.Origin).Entry(le.Index)
		if err != nil {
			continue
		}
		if row, ok := RegisterMatch(tx, idx, q, le.Origin, le.Index, e); ok && row.Code == f.Q {
			rows = append(rows, row)
		}
	}
	return rows
}
