package node

import (
	"time"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/ledger"
)

// effective returns the members taking part now (exchange.Manifest.Effective)
// from the member_approve / member_remove governance records in this node's
// own ledger and mirrors (govDecisions, the scan that also finds the
// schema_adopt records). It is recomputed when any of those logs grew, at
// most every 200 ms: it drives the leader's push and mirror loops, never
// the FSM (the FSM's adopted set is reconcileSchemas, from its own
// transaction).
func (x *exchangeNode) effective() map[string]bool {
	x.mu.Lock()
	if x.eff != nil && time.Since(x.effAt) < 200*time.Millisecond {
		eff := x.eff
		x.mu.Unlock()
		return eff
	}
	x.mu.Unlock()
	m := x.m() // membership_live.go: the manifest in force
	var total uint64
	x.n.fsm.view(func(tx *ledger.ReadTx) error {
		for i := range m.Members {
			total += tx.Log(m.Members[i].Origin()).Size()
		}
		return nil
	})
	x.mu.Lock()
	if x.eff != nil && total == x.effSizes && x.live.effFor == m {
		x.effAt = time.Now()
		eff := x.eff
		x.mu.Unlock()
		return eff
	}
	x.mu.Unlock()
	var approvals []exchange.Approval
	x.n.fsm.view(func(tx *ledger.ReadTx) error {
		approvals, _ = x.govDecisions(tx.Bucket(bucketGov), tx.Log)
		return nil
	})
	eff := m.Effective(approvals)
	x.mu.Lock()
	x.eff, x.effAt, x.effSizes, x.live.effFor = eff, time.Now(), total, m
	x.mu.Unlock()
	return eff
}

// effectiveOthers are the members other than this one that take part now.
func (x *exchangeNode) effectiveOthers() []*exchange.Member {
	eff := x.effective()
	var out []*exchange.Member
	for _, mb := range x.m().Others(x.self.Code) {
		if eff[mb.Code] {
			out = append(out, mb)
		}
	}
	return out
}
