package node

import (
	"bytes"
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/schemas"
)

// effective returns the members taking part now (exchange.Manifest.Effective)
// from the member_approve / member_remove governance records in this node's
// own ledger and mirrors. It is recomputed when any of those logs grew, at
// most every 200 ms.
func (x *exchangeNode) effective() map[string]bool {
	x.mu.Lock()
	if x.eff != nil && time.Since(x.effAt) < 200*time.Millisecond {
		eff := x.eff
		x.mu.Unlock()
		return eff
	}
	x.mu.Unlock()
	var total uint64
	x.n.fsm.view(func(tx *ledger.ReadTx) error {
		for i := range x.manifest.Members {
			total += tx.Log(x.manifest.Members[i].Origin()).Size()
		}
		return nil
	})
	x.mu.Lock()
	if x.eff != nil && total == x.effSizes {
		x.effAt = time.Now()
		eff := x.eff
		x.mu.Unlock()
		return eff
	}
	x.mu.Unlock()
	var approvals []exchange.Approval
	x.n.fsm.view(func(tx *ledger.ReadTx) error {
		gov := tx.Bucket(bucketGov)
		if gov == nil {
			return nil
		}
		for i := range x.manifest.Members {
			mb := &x.manifest.Members[i]
			lr := tx.Log(mb.Origin())
			prefix := append([]byte(mb.Origin()), 0)
			c := gov.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				_, index, ok := splitEntryKey(k)
				if !ok {
					continue
				}
				e, err := lr.Entry(index)
				if err != nil {
					continue
				}
				if a, ok := approvalOf(mb.Code, e); ok {
					approvals = append(approvals, a)
				}
			}
		}
		return nil
	})
	eff := x.manifest.Effective(approvals)
	x.mu.Lock()
	x.eff, x.effAt, x.effSizes = eff, time.Now(), total
	x.mu.Unlock()
	return eff
}

// approvalOf reads a member_approve or member_remove record of member by.
// Only records signed by an anchor key reach the gov index of a mirror
// (EntryVerifier) or the own ledger (admission), so no signature check here.
func approvalOf(by string, e []byte) (exchange.Approval, bool) {
	s, err := schemas.ParseSigned(e)
	if err != nil {
		return exchange.Approval{}, false
	}
	rec, err := s.Decode()
	if err != nil {
		return exchange.Approval{}, false
	}
	g, ok := rec.(*schemas.Governance)
	if !ok {
		return exchange.Approval{}, false
	}
	switch {
	case g.Action == schemas.ActionMemberApprove && g.MemberApprove != nil:
		a := g.MemberApprove
		return exchange.Approval{By: by, Code: a.Code, Endpoint: a.Endpoint, LogVKey: a.LogVKey, WitnessVKey: a.WitnessVKey}, true
	case g.Action == schemas.ActionMemberRemove && g.MemberRemove != nil:
		return exchange.Approval{By: by, Code: g.MemberRemove.Code, Remove: true}, true
	}
	return exchange.Approval{}, false
}

// effectiveOthers are the members other than this one that take part now.
func (x *exchangeNode) effectiveOthers() []*exchange.Member {
	eff := x.effective()
	var out []*exchange.Member
	for _, mb := range x.manifest.Others(x.self.Code) {
		if eff[mb.Code] {
			out = append(out, mb)
		}
	}
	return out
}
