package console

import (
	"strings"
	"testing"
)

// ledgers is a register source over in-memory ledgers: every entry whose
// bytes are "L" is a listing on the register.
type ledgers map[string][]string

func (l ledgers) Size(origin string) uint64 { return uint64(len(l[origin])) }
func (l ledgers) Entry(origin string, i uint64) ([]byte, error) {
	return []byte(l[origin][i]), nil
}
func (l ledgers) Match(_ RegisterFilter, origin string, i uint64, e []byte) (RegisterRow, bool) {
	return RegisterRow{Member: origin, Index: i}, string(e) == "L"
}

// TestScanRegisterPagesByCursor: rows come newest first, own ledger first;
// a full page ends with a cursor where the next resumes, and the pages
// together hold every listing once.
func TestScanRegisterPagesByCursor(t *testing.T) {
	own, other := "creditx.330000/ledger", "creditx.320000/ledger"
	src := ledgers{own: make([]string, 70), other: make([]string, 40)}
	for i := range src[own] {
		src[own][i] = "L"
	}
	for i := range src[other] {
		if i%2 == 0 {
			src[other][i] = "L"
		}
	}
	var seen []RegisterRow
	var c *RegisterCursor
	for pages := 0; ; pages++ {
		p := RegisterPage{}
		if err := ScanRegister(src, &p, []string{own, other}, c); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p.Rows...)
		if p.Next == "" {
			break
		}
		if pages > 5 || len(p.Rows) != RegisterPageSize || p.Exhausted {
			t.Fatalf("page %d: %d rows, exhausted %v", pages, len(p.Rows), p.Exhausted)
		}
		_, cur, _ := strings.Cut(p.Next, "cursor=")
		var err error
		if c, err = ParseRegisterCursor(strings.ReplaceAll(cur, "%3A", ":")); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 70+20 {
		t.Fatalf("%d rows over all pages, want 90", len(seen))
	}
	if seen[0].Member != own || seen[0].Index != 69 || seen[70].Member != other || seen[70].Index != 38 {
		t.Fatalf("order: first %+v, 71st %+v", seen[0], seen[70])
	}
	if _, err := ParseRegisterCursor("33:1"); err == nil {
		t.Error("a cursor with a short code parsed")
	}
}
