package exchange

import (
	"fmt"
	"slices"
	"testing"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// TestEffectiveScansOncePerGovChange: the effective members are recomputed
// from the governance records only when the gov index's membership records
// change (its sequence), not when the ledgers merely grow (issue 20: the
// scan on every mirror round was 8% of the CPU at 45 members); an approval
// and a removal still take effect at the next call after they are indexed.
func TestEffectiveScansOncePerGovChange(t *testing.T) {
	m := testManifest(t, "310000", "320000", "330000", "330100")
	m.Founders = []string{"310000", "320000", "330000"}
	m = parsed(t, m)
	h := newFakeHost(t)
	x, err := NewOffline(m, "310000", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := func(step string, codes ...string) {
		t.Helper()
		got := x.effective()
		var have []string
		for c, ok := range got {
			if ok {
				have = append(have, c)
			}
		}
		slices.Sort(have)
		if !slices.Equal(have, codes) {
			t.Errorf("%s: effective = %v, want %v", step, have, codes)
		}
	}
	want("founders", "310000", "320000", "330000")
	if n := x.GovScans(); n != 1 {
		t.Fatalf("first call scanned %d times, want 1", n)
	}
	// The ledgers grow by records that are not membership records (the
	// listings and notices of a busy exchange): no scan.
	for i := range 5 {
		err := h.store.Update(func(tx *ledger.Tx) error {
			for _, c := range []string{"310000", "320000", "330000"} {
				if _, err := tx.Append(schemas.LedgerOrigin(c), [][]byte{fmt.Appendf(nil, `{"n":%d}`, i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want(fmt.Sprintf("after growth %d", i), "310000", "320000", "330000")
	}
	if n := x.GovScans(); n != 1 {
		t.Errorf("growing ledgers without membership records: %d scans, want 1", n)
	}

	hz, _ := m.Member("330100")
	approveHZ := func(by string) govEntry {
		return govEntry{by, &schemas.Governance{Action: schemas.ActionMemberApprove, MemberApprove: &schemas.MemberApprove{
			Code: hz.Code, Name: hz.Name, Endpoint: hz.Endpoint, LogVKey: hz.LogVKey, WitnessVKey: hz.WitnessVKey}}}
	}
	writeGov(t, h, x, []govEntry{approveHZ("310000")})
	want("one approval of three founders", "310000", "320000", "330000")
	writeGov(t, h, x, []govEntry{approveHZ("320000")})
	want("two approvals", "310000", "320000", "330000", "330100")
	if n := x.GovScans(); n != 3 {
		t.Errorf("two membership records indexed: %d scans in all, want 3", n)
	}
	want("unchanged", "310000", "320000", "330000", "330100")
	remove := func(by string) govEntry {
		return govEntry{by, &schemas.Governance{Action: schemas.ActionMemberRemove, MemberRemove: &schemas.MemberRemove{Code: "330000"}}}
	}
	writeGov(t, h, x, []govEntry{remove("310000"), remove("320000"), remove("330100")})
	want("removed by three of the other three", "310000", "320000", "330100")
	if n := x.GovScans(); n != 4 {
		t.Errorf("after the removal: %d scans in all, want 4", n)
	}
}
