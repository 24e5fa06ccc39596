package sanctions

import (
	"testing"

	"github.com/creditx/creditx/schemas"
)

// Issue 12 item 3: the catalogue's requires_authority (environmental repairs
// need the environment authority) was loaded but never enforced.
func TestRepairRequiresAuthority(t *testing.T) {
	e := newEngine(t)
	l := envListing("2026-03-02")
	L := ref("330000", 1)
	rp := func(by string) *schemas.Repair {
		return repair(ref("330000", 2), L, "2027-03-05 10:00", "early_repair", by, "2027-03-01", "remove").Record.(*schemas.Repair)
	}
	if p := e.RepairAuthority(l, rp(usccZJEnv), usccCreditOffice, nil); p != nil {
		t.Errorf("decided by the listing's environment authority: %+v", p)
	}
	if p := e.RepairAuthority(l, rp(usccCreditOffice), usccCreditOffice, nil); p == nil || p.Field != "decision.authority.uscc" {
		t.Errorf("decided by the credit office alone: %+v", p)
	}
	if p := e.RepairAuthority(l, rp(usccCreditOffice), usccCreditOffice, []string{"environment"}); p != nil {
		t.Errorf("decided by a submitting agency of domain environment: %+v", p)
	}
	g := guideListing("2026-03-02") // tourism: no authority required
	if p := e.RepairAuthority(g, rp(usccCreditOffice), usccCreditOffice, nil); p != nil {
		t.Errorf("tourism repair: %+v", p)
	}
}
