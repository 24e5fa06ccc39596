// Package node is one replica of a region's node: the region's ledger and
// access log replicated by hashicorp/raft over three (or five) replicas, the
// admission of signed records, the indexes and sanction notices built from
// them, the data-key vault, and the HTTPS (and, for members of an exchange,
// HTTP/3) API and web pages. [New] opens the stores and raft and binds the
// listeners; [Node.Run] serves until its context ends. DESIGN.md beside this
// file explains why it is built this way.
//
// The inter-member runtime (push loop, witness decision, mirror loops, the
// apply functions of raft ops 2-5) is package exchange's Runtime; the
// replica is its Host (exchange_host.go) and dispatches ops 2-5 to it
// through the FSM's op table (fsm_ops.go). The API's wire types are
// package api's (node keeps their names as aliases), the caller's side of
// the API is package client, and dev provisioning is package provision.
// Raft itself (opening it, its timings and peers, membership changes, a
// new replica's join) is package node/raftcluster; the FSM is built whole
// with what it asks of the replica (fsmHost, fsm_host.go).
//
// The replica's other concerns are rooms below it, in internal/, none of
// which imports node; node hands each its store, raft time and propose
// path through a small interface defined in the room: the subject,
// reference, governance and check indexes and the check answer
// (internal/index; node wires the steps other rooms own as index.Steps,
// index.go), sanction notices, the agency inbox, the loop-log rules and the
// not-applied listings (internal/notices; notices.go is its Host), the
// subject's door and token revocation (internal/selfservice), the access
// log with the purpose catalogue and the lookup cap's charge
// (internal/access), the vault endpoints (internal/vaultops; the FSM side,
// ops 6-8, stays in vault_fsm.go), the data of the web pages
// (internal/pages), the Prometheus collectors (internal/opsmetrics), the
// admission checks of a record, on submission, for a forwarded command and
// in the FSM (internal/admission, through admission.go), and the batch and
// witnessed receipts (internal/receipts), the exchange's HTTP endpoints
// (internal/exchangeops) and the cluster endpoints (internal/clusterops);
// node hands the last two the runtime, raft and its retry rule (opsNode).
//
// Every write, whatever its kind (appends, the vault and revocation
// commands, the exchange's ops), reaches raft through one path:
// propose (propose.go) applies the command on the leader or forwards it to
// the leader's /internal/v1/apply over mutual TLS, bounded by the caller's
// context, and retries through leader changes by one rule (retryLeader),
// which membership changes and forwarded witness requests follow too.
//
// # Guarantees
//
//   - A write is acknowledged only when it is durable and checkpointed: the
//     handler answers after raft.Apply returned on the leader, that is after
//     the batch was fsync'd in the raft log of a quorum and applied, in one
//     fsync'd bbolt transaction, to this replica's ledger.db together with
//     the indexes and a new signed checkpoint that covers it. The receipt
//     carries that checkpoint and an inclusion proof (TestReceiptVerifies).
//   - A rejected request writes nothing: admission (authentication, role,
//     schema, signature, references, owner table) runs before anything is
//     proposed, and the FSM re-checks what it must without panicking (what
//     it re-checks on every replica, from one parse of the bytes it appends,
//     and what it takes from admission: fsm.applyAppend).
//   - A resubmitted record, even re-signed, gets its original index
//     (package internal/dedupe), so a client that got no answer may simply retry.
//   - Every replica applies the same raft log to byte-identical ledgers and
//     checkpoints (deterministic Ed25519, no timestamp in the checkpoint
//     body, raft time instead of clocks), so a new leader serves and extends
//     them at once; leader loss loses no acknowledged write
//     (TestLeaderKillUnderLoad, TestRepeatedLeaderKills).
//   - Every decision of the exchange (mirror append, cosignature, witnessed
//     checkpoint, alert) goes through raft, so a member never cosigns two
//     checkpoints of an origin at different roots, and a mirrored entry is
//     stored only after its batch verified against the checkpoint's root
//     (TestExchangeCatchesEquivocation).
//   - A replica never serves or builds on damaged or rolled-back state:
//     [New] checks ledger.db and refuses with a [*StartError]
//     (TestStartRefusesFlippedEntryByte, TestStartRefusesRolledBackMetaPage,
//     TestStartRefusesLedgerBehindRaftSnapshot).
//
// # Crash table
//
// What is left if the process dies right after each durable step of a write
// (the same order for a follower, which forwards the admitted batch to the
// leader first):
//
//	step                                      dies right after it
//	admission (nothing durable)               no answer; the client retries
//	raft log append, fsync'd on a quorum      committed: a new or restarted leader applies it;
//	                                          not yet on a quorum: lost, never acknowledged
//	FSM transaction (entries, indexes,        ledger.db has the batch and the applied raft index;
//	  checkpoint, applied index; one fsync)   raft replays later entries only (replay is a no-op
//	                                          for applied ones); dying inside it leaves nothing
//	                                          (bbolt commit is atomic) and raft replays the batch
//	ledger.checkpoint rewritten (no fsync)    the file may be older than ledger.db, never newer;
//	                                          the start check accepts older, refuses a rollback
//	answer sent                               the client holds a receipt it can verify offline
//
// Other durable steps: an erasure's vault-key ratchet runs after its commit
// (a crash in between leaves the old key until [New] finishes the ratchet,
// TestVaultRatchetCompletesAfterCrash); a snapshot install writes
// ledger.db.restore, fsyncs it and renames it over ledger.db (dying before
// the rename keeps the old file and raft sends the snapshot again); a
// witness cosignature is returned only after its raft command (op 3)
// committed, so dying in between makes the origin ask again and get the
// same answer or a 409 naming the size already cosigned.
//
// # Failure
//
// If bbolt fails while applying a committed batch (disk full, fsync error)
// the replica cannot refuse what its peers applied, so it panics; on
// restart it checks ledger.db and replays the raft log. After an fsync error
// that is the only safe course. Refusals of bad commands travel in the
// apply result, never as a panic. A failed read answers 500 without
// internal detail (internal/httpx.ReadError), and a damaged stored entry is refused,
// never served; [Node.Run] returns the first error of its
// loops after shutting down in order: listeners, raft leadership, raft,
// ledger.db.
package node
