package exchange

import (
	"github.com/creditx/creditx/ledger"
)

// effective returns the members taking part now (Manifest.Effective)
// from the member_approve / member_remove governance records in this node's
// own ledger and mirrors (govDecisions, the scan that also finds the
// schema_adopt records). It drives the leader's push and mirror loops and
// the witness's caller check, never the FSM (the FSM's adopted set is
// reconcileSchemas, from its own transaction).
//
// The scan is cached by the gov bucket's sequence (gov.go), which the
// indexer bumps in the same transaction as it indexes any member_approve,
// member_remove, schema_adopt, manifest_propose or manifest_approve record
// (IsExchangeGovernance): the decisions govDecisions reads are the
// records of those actions in the gov index, and the manifest in force (the
// members whose ledgers it reads) is itself a function of that sequence
// (m, live.go). So an unchanged sequence means unchanged decisions, and a
// membership record takes effect at the first call after the transaction
// that indexed it committed, as when every call scanned (issue 20: the scan
// on every mirror round was 8% of the CPU at 45 members).
//
// The sequence is read before the scan, in an earlier transaction: the
// decisions cached are at least as new as the key they are stored under,
// never older, so a later call can only recompute too often, never miss a
// record.
//
// effMu is held for the whole call: concurrent callers wait for one
// recomputation instead of each scanning. If the ledger cannot be read it
// logs the error and answers the last set it computed, or no member at all
// (nothing is pushed, mirrored or cosigned until a read succeeds).
func (x *Runtime) effective() map[string]bool {
	eff, _ := x.effectiveGen()
	return eff
}

// effectiveGen is effective and the generation of the set returned
// (x.effGen: the same generation is the same set; 0 is a set computed
// for this call only, never cached).
func (x *Runtime) effectiveGen() (map[string]bool, uint64) {
	x.effMu.Lock()
	defer x.effMu.Unlock()
	eff := x.effectiveLocked()
	if x.eff == nil {
		return eff, 0
	}
	return eff, x.effGen
}

func (x *Runtime) effectiveLocked() map[string]bool {
	seq, err := x.govSeq()
	if err == nil {
		m := x.mAt(seq) // live.go: the manifest in force
		if x.eff != nil && x.effSeq == seq && x.effFor == m {
			return x.eff
		}
		var approvals []Approval
		err = x.host.View(func(tx *ledger.ReadTx) error {
			approvals, _ = govDecisions(m, tx.Bucket(BucketGov), tx.Log)
			return nil
		})
		if err == nil {
			x.govScans.Add(1)
			x.eff, x.effSeq, x.effFor = m.Effective(approvals), seq, m
			x.effGen++
			x.effSnap.Store(&effSnapshot{set: x.eff, gen: x.effGen})
			return x.eff
		}
	}
	x.logger.Error("membership: reading governance decisions failed; keeping the last known members", "err", err)
	if x.eff == nil {
		return map[string]bool{}
	}
	return x.eff
}

// effSnapshot is an effective set and its generation (Runtime.effSnap).
type effSnapshot struct {
	set map[string]bool
	gen uint64
}

// govSeq is the gov bucket's sequence (gov.go): it changes whenever a
// record that can change the membership or the manifest in force is
// indexed.
func (x *Runtime) govSeq() (uint64, error) {
	var seq uint64
	err := x.host.View(func(tx *ledger.ReadTx) error {
		if b := tx.Bucket(BucketGov); b != nil {
			seq = b.Sequence()
		}
		return nil
	})
	return seq, err
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

// GovScans is how many times the runtime scanned the governance records for
// the effective members (effective): once per change of the gov index's
// membership records, not once per call (issue 20).
func (x *Runtime) GovScans() uint64 { return x.govScans.Load() }
