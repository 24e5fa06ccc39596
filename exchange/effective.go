package exchange

import (
	"time"

	"github.com/creditx/creditx/ledger"
)

// effective returns the members taking part now (Manifest.Effective)
// from the member_approve / member_remove governance records in this node's
// own ledger and mirrors (govDecisions, the scan that also finds the
// schema_adopt records). It is recomputed when any of those logs grew, at
// most every 200 ms: it drives the leader's push and mirror loops and the
// witness's caller check, never the FSM (the FSM's adopted set is
// reconcileSchemas, from its own transaction).
//
// effMu is held for the whole call: concurrent callers wait for one
// recomputation instead of each scanning, and the sizes and the decisions
// come from one read transaction, so the cache never pairs the decisions of
// one state with the sizes of another. If the ledger cannot be read it logs
// the error and answers the last set it computed, or no member at all
// (nothing is pushed, mirrored or cosigned until a read succeeds).
func (x *Runtime) effective() map[string]bool {
	x.effMu.Lock()
	defer x.effMu.Unlock()
	if x.eff != nil && time.Since(x.effAt) < 200*time.Millisecond {
		return x.eff
	}
	m := x.m() // live.go: the manifest in force
	var total uint64
	var approvals []Approval
	fresh := false
	err := x.host.View(func(tx *ledger.ReadTx) error {
		for i := range m.Members {
			total += tx.Log(m.Members[i].Origin()).Size()
		}
		if x.eff != nil && total == x.effSizes && x.effFor == m {
			return nil
		}
		approvals, _ = x.govDecisions(tx.Bucket(BucketGov), tx.Log)
		fresh = true
		return nil
	})
	switch {
	case err != nil:
		x.logger.Error("membership: reading governance decisions failed; keeping the last known members", "err", err)
		if x.eff == nil {
			return map[string]bool{}
		}
	case fresh:
		x.eff, x.effSizes, x.effFor = m.Effective(approvals), total, m
	}
	x.effAt = time.Now()
	return x.eff
}

// effectiveOthers are the members other than this one that take part now.
func (x *Runtime) effectiveOthers() []*Member {
	eff := x.effective()
	var out []*Member
	for _, mb := range x.m().Others(x.self.Code) {
		if eff[mb.Code] {
			out = append(out, mb)
		}
	}
	return out
}

// Effective is the set of members taking part now (see effective).
func (x *Runtime) Effective() map[string]bool { return x.effective() }
