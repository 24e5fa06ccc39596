package exchange

import (
	"sync/atomic"

	"github.com/creditx/creditx/internal/sigmemo"
	"golang.org/x/mod/sumdb/note"
)

// Work counts what a member's exchange did (issue 20): the figures that
// tell which work grows with N per member (creditx bench delta reports
// them per member for the convergence; tests assert on them, never on
// time).
type Work struct {
	Proposals      uint64 // exchange commands proposed through raft (all ops)
	FollowCommands uint64 // OpFollow commands (batches of followed loop checkpoints)
	Follows        uint64 // served loop checkpoints of peers verified and queued to be followed
	FollowProofs   uint64 // consistency proofs built from a peer's loop tiles while following
	ServedProofs   uint64 // consistency proofs used as served with a loop long-poll answer (loop_proof.go)
	LoopAnswers    uint64 // loop long-poll answers received from peers (new or not)
	LoopPushes     uint64 // own loop checkpoints pushed to witnesses
	LedgerPushes   uint64 // own ledger checkpoints pushed to witnesses
	Requests       uint64 // HTTP/3 requests made to other members (every kind)
	Checks         uint64 // checkpoint signature checks made (CheckpointCache)
	SigLines       uint64 // signature lines checked by the manifest's keys (sigmemo: each line once per key)
	SigRemembered  uint64 // signature lines the manifest's keys accepted from memory, unchecked (sigmemo)
	Rekicks        uint64 // mirrors woken again after a long-poll round found them behind (watch.go rekick)
}

// workCounters are the runtime's counters behind Work.
type workCounters struct {
	proposals, follows, followProofs, servedProofs, loopAnswers, loopPushes, ledgerPushes, rekicks atomic.Uint64
}

// Work returns the counts so far.
func (x *Runtime) Work() Work {
	w := Work{
		Proposals:      x.work.proposals.Load(),
		FollowCommands: x.follows.flushes.Load(),
		Follows:        x.work.follows.Load(),
		FollowProofs:   x.work.followProofs.Load(),
		ServedProofs:   x.work.servedProofs.Load(),
		LoopAnswers:    x.work.loopAnswers.Load(),
		LoopPushes:     x.work.loopPushes.Load(),
		LedgerPushes:   x.work.ledgerPushes.Load(),
		Checks:         x.cpCache.Checks(),
		Rekicks:        x.work.rekicks.Load(),
	}
	w.SigLines, w.SigRemembered = x.manifest.sigStats()
	if m := x.Cached(); m != x.manifest {
		c, h := m.sigStats()
		w.SigLines, w.SigRemembered = w.SigLines+c, w.SigRemembered+h
	}
	x.live.mu.Lock()
	seen := map[*Client]bool{}
	for _, c := range x.live.clients {
		seen[c] = true
	}
	x.live.mu.Unlock()
	for _, c := range x.clients {
		seen[c] = true
	}
	for c := range seen {
		if c != nil {
			w.Requests += c.requests.Load()
		}
	}
	return w
}

// Add adds o's counts to w.
func (w *Work) Add(o Work) {
	w.Proposals += o.Proposals
	w.FollowCommands += o.FollowCommands
	w.Follows += o.Follows
	w.FollowProofs += o.FollowProofs
	w.ServedProofs += o.ServedProofs
	w.LoopAnswers += o.LoopAnswers
	w.LoopPushes += o.LoopPushes
	w.LedgerPushes += o.LedgerPushes
	w.Requests += o.Requests
	w.Checks += o.Checks
	w.Rekicks += o.Rekicks
	w.SigLines += o.SigLines
	w.SigRemembered += o.SigRemembered
}

// sigStats sums the signature lines m's keys checked and accepted from
// memory (sigmemo.Verifier.Stats): members' log, loop log and witness keys
// and the policy's keys.
func (m *Manifest) sigStats() (checks, hits uint64) {
	add := func(v note.Verifier) {
		if s, ok := v.(*sigmemo.Verifier); ok {
			c, h := s.Stats()
			checks, hits = checks+c, hits+h
		}
	}
	for i := range m.Members {
		mb := &m.Members[i]
		add(mb.logV)
		add(mb.loopV)
		add(mb.witnessV)
	}
	if m.policy != nil {
		for _, l := range m.policy.Logs {
			add(l.Verifier)
		}
		for _, w := range m.policy.Witnesses {
			add(w.Verifier)
		}
	}
	return checks, hits
}
