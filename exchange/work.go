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
	RefusedProofs  uint64 // consistency proofs served with a loop long-poll answer, from the size needed, that did not verify (loop_proof.go)
	LoopAnswers    uint64 // loop long-poll answers received from peers (new or not)
	LoopPushes     uint64 // own loop checkpoints pushed to witnesses
	LedgerPushes   uint64 // own ledger checkpoints pushed to witnesses
	Requests       uint64 // HTTP/3 requests made to other members (every kind)
	Checks         uint64 // checkpoint signature checks made (CheckpointCache)
	SigLines       uint64 // signature lines checked by the manifest's keys (sigmemo: each line once per key)
	SigRemembered  uint64 // signature lines the manifest's keys accepted from memory, unchecked (sigmemo)
	Rekicks        uint64 // mirrors woken again after a long-poll round found them behind (watch.go rekick)

	// Proposals by kind (they add up to Proposals).
	MirrorAppends uint64 // op 2 with entries (a ledger mirror's or a custodian's batch)
	MirrorNotes   uint64 // op 2 without entries (the same tree's note with more cosignatures)
	Witnesses     uint64 // op 3 (a cosignature this member's witness made)
	Cosigned      uint64 // op 4 (an own checkpoint with a quorum of cosignatures)
	Alerts        uint64 // op 5

	// What the replica's raft and ledger.db did, all commands of the
	// region (its own appends too), filled in by the host (the node).
	RaftBatches  uint64 // FSM ApplyBatch calls: ledger.db write transactions (one fsync each)
	RaftCommands uint64 // raft commands applied by them
	LogWrites    uint64 // raft log writes (StoreLogs: raft log appends, one fsync each)
	Views        uint64 // ledger.db read transactions the exchange runtime opened (Host.View)
}

// workCounters are the runtime's counters behind Work.
type workCounters struct {
	proposals, follows, followProofs, servedProofs, refusedProofs, loopAnswers, loopPushes, ledgerPushes, rekicks atomic.Uint64
	mirrorAppends, mirrorNotes, witnesses, cosigned, alerts                                                       atomic.Uint64
}

// countProposal counts c by kind (Work).
func (w *workCounters) countProposal(c Command) {
	w.proposals.Add(1)
	switch c.Op {
	case OpMirrorAppend:
		if len(c.Entries) == 0 {
			w.mirrorNotes.Add(1)
		} else {
			w.mirrorAppends.Add(1)
		}
	case OpWitness:
		w.witnesses.Add(1)
	case OpCosigned:
		w.cosigned.Add(1)
	case OpAlert:
		w.alerts.Add(1)
	}
}

// Work returns the counts so far.
func (x *Runtime) Work() Work {
	w := Work{
		Proposals:      x.work.proposals.Load(),
		FollowCommands: x.follows.flushes.Load(),
		Follows:        x.work.follows.Load(),
		FollowProofs:   x.work.followProofs.Load(),
		ServedProofs:   x.work.servedProofs.Load(),
		RefusedProofs:  x.work.refusedProofs.Load(),
		LoopAnswers:    x.work.loopAnswers.Load(),
		LoopPushes:     x.work.loopPushes.Load(),
		LedgerPushes:   x.work.ledgerPushes.Load(),
		Checks:         x.cpCache.Checks(),
		Rekicks:        x.work.rekicks.Load(),
		MirrorAppends:  x.work.mirrorAppends.Load(),
		MirrorNotes:    x.work.mirrorNotes.Load(),
		Witnesses:      x.work.witnesses.Load(),
		Cosigned:       x.work.cosigned.Load(),
		Alerts:         x.work.alerts.Load(),
	}
	w.SigLines, w.SigRemembered = sigStats(x.manifest, x.Cached()) // keys shared between the two counted once
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
	w.RefusedProofs += o.RefusedProofs
	w.LoopAnswers += o.LoopAnswers
	w.LoopPushes += o.LoopPushes
	w.LedgerPushes += o.LedgerPushes
	w.Requests += o.Requests
	w.Checks += o.Checks
	w.Rekicks += o.Rekicks
	w.MirrorAppends += o.MirrorAppends
	w.MirrorNotes += o.MirrorNotes
	w.Witnesses += o.Witnesses
	w.Cosigned += o.Cosigned
	w.Alerts += o.Alerts
	w.RaftBatches += o.RaftBatches
	w.RaftCommands += o.RaftCommands
	w.LogWrites += o.LogWrites
	w.Views += o.Views
	w.SigLines += o.SigLines
	w.SigRemembered += o.SigRemembered
}

// sigStats sums the signature lines m's keys checked and accepted from
// memory (sigmemo.Verifier.Stats): members' log, loop log and witness keys
// and the policy's keys.
func (m *Manifest) sigStats() (checks, hits uint64) { return sigStats(m) }

// sigStats is Manifest.sigStats over ms, each verifier counted once (a key
// the manifests share, keymemo.go, or the policy's verifier of a member's
// witness, is one memory).
func sigStats(ms ...*Manifest) (checks, hits uint64) {
	seen := map[*sigmemo.Verifier]bool{}
	add := func(v note.Verifier) {
		if s, ok := v.(*sigmemo.Verifier); ok && !seen[s] {
			seen[s] = true
			c, h := s.Stats()
			checks, hits = checks+c, hits+h
		}
	}
	for _, m := range ms {
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
	}
	return checks, hits
}
