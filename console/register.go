package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/creditx/creditx/schemas"
)

// The public register's paging (issue 18): published listings of every
// member a node holds, newest first, in pages found by ledger index, so
// that a page costs the entries it reads and not the size of the ledgers
// (10^6 listings: BenchmarkRegisterPage, BENCHMARKS.md).
//
// A page walks the ledgers in the order given (the node's own first, then
// the mirrors in origin order), each from its newest entry (or from the
// cursor) down, and stops after RegisterPageSize rows or
// RegisterScanBudget entries read, whichever comes first; the next page
// starts at the cursor "CODE:INDEX" where this one stopped. A filter that
// matches rarely therefore gives short pages with a "继续查找" link rather
// than a slow one. Which entries match is the node's (RegisterSource).

// RegisterPageSize is the rows of one register page.
const RegisterPageSize = 50

// RegisterScanBudget bounds the entries one page reads.
const RegisterScanBudget = 20000

// RegisterRow is one listing on the register.
type RegisterRow struct {
	Subject, Code, Domain, Programme, Authority, Listed, Until, Member, MemberCode, State string
	Index                                                                                 uint64
}

// RegisterFilter is the register's query: q (name substring or an exact
// USCC), domain, member code, programme code, listed on or after a date.
type RegisterFilter struct {
	Q, Domain, Member, Programme, Since string
	SinceDate                           schemas.Date // Since parsed; zero: none
}

// Query is the register's URL for f at cursor ("" none).
func (f RegisterFilter) Query(cursor string) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "domain": f.Domain, "member": f.Member, "programme": f.Programme, "since": f.Since, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return "/?" + v.Encode()
}

// RegisterPage is the register page's data.
type RegisterPage struct {
	Base
	Filter    RegisterFilter
	Rows      []RegisterRow
	Next      string // URL of the next page, "" at the end
	Scanned   int
	Exhausted bool // the scan budget ran out before the page was full
	Domains   []string
	Members   []string
	Problems  []string
}

// RegisterCursor is a position of the register: the entry below which
// the walk resumes in the ledger of member Code.
type RegisterCursor struct {
	Code  string
	Index uint64
}

// ParseRegisterCursor parses "CODE:INDEX" ("" : nil, no cursor).
func ParseRegisterCursor(s string) (*RegisterCursor, error) {
	if s == "" {
		return nil, nil
	}
	code, is, found := strings.Cut(s, ":")
	index, perr := strconv.ParseUint(is, 10, 64)
	if !found || perr != nil || len(code) != 6 {
		return nil, fmt.Errorf("翻页 cursor: %q 应为 CODE:INDEX", clip(s))
	}
	return &RegisterCursor{Code: code, Index: index}, nil
}

// RegisterSource is what a register page reads: the ledgers' sizes and
// entries, and whether an entry is a listing on the register under a
// filter (and its row).
type RegisterSource interface {
	Size(origin string) uint64
	Entry(origin string, index uint64) ([]byte, error)
	Match(f RegisterFilter, origin string, index uint64, e []byte) (RegisterRow, bool)
}

// ScanRegister fills p.Rows, p.Scanned, p.Exhausted and p.Next by walking
// origins (in order) from cursor c (nil: from the start) under p.Filter.
// An entry that cannot be read stops the page with the error.
func ScanRegister(src RegisterSource, p *RegisterPage, origins []string, c *RegisterCursor) error {
	started := c == nil
	for _, origin := range origins {
		i := src.Size(origin)
		if !started {
			if MemberCode(origin) != c.Code {
				continue
			}
			started, i = true, min(i, c.Index+1)
		}
		for ; i > 0; i-- {
			if len(p.Rows) == RegisterPageSize || p.Scanned == RegisterScanBudget {
				p.Exhausted = len(p.Rows) < RegisterPageSize
				p.Next = p.Filter.Query(fmt.Sprintf("%s:%d", MemberCode(origin), i-1))
				return nil
			}
			p.Scanned++
			e, err := src.Entry(origin, i-1)
			if err != nil {
				return err
			}
			if row, ok := src.Match(p.Filter, origin, i-1, e); ok {
				p.Rows = append(p.Rows, row)
			}
		}
	}
	return nil
}

// clip shortens a caller's string for an error message (as node's clip).
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
