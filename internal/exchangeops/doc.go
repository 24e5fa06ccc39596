// Package exchangeops serves the replica's HTTP endpoints of the
// inter-member exchange (issue 16; docs/EXCHANGE.md):
//
//	POST exchange.AddCheckpointPath                (C2SP tlog-witness add-checkpoint)
//	GET  exchange.MonitorPathPrefix{hash}/checkpoint (the witness's monitoring API, public)
//	GET  /v1/membership                             (the membership history, public)
//	GET  /v1/exchange, GET /v1/alerts               (summary, public; alerts for certificates)
//
// admission's check of a manifest_propose record, and the replica's other
// reads of the runtime (a member code's mirrored origin, the export of the
// member ledgers as tlog-tiles trees, the peer log keys of the start-up
// check).
//
// Package exchange owns the runtime (the witness decision, the membership
// history, the alerts, the witness buckets); package node runs the replica,
// its raft and its one retry rule towards the leader. This package owns
// what lies between: admitting the caller of the witness before the
// runtime decides, relaying a follower's witness request to the leader
// (the witness state lives in raft, so any replica of a member can be its
// endpoint), and the views. It reaches the replica only through [Node] and
// writes nothing itself: a cosignature is committed by the runtime
// (exchange.Runtime.ServeCosign) through the replica's propose path.
//
// # Guarantees
//
//   - A member's ledger is witnessed for that member only (role member, of
//     an active, approved member); a log listed in exchange.witness_logs
//     for any caller, certificate or not.
//   - A follower relays a witness request to its leader with
//     [ForwardedMemberHeader] naming the member it admitted; the leader
//     trusts that header only from a replica of its own region (mutual TLS,
//     role replica). Whatever the leader answers is the answer.
//   - GET /v1/membership and the manifest_propose check read the history
//     the runtime reconstructs from the ledgers (exchange.Runtime.Membership);
//     a proposal is admitted only if it changes the manifest in force and
//     its sha256 is the hash of the manifest it yields, else it could never
//     take effect.
//
// # Failures
//
// The witness endpoints answer as C2SP tlog-witness says (text bodies:
// 400 malformed, 403 no valid signature or a caller that may not ask, 404
// unknown origin, 409 old size mismatch, 422 inconsistent; the decision is
// the runtime's), 413 for a body over exchange.MaxAddCheckpointSize and 503
// when the leader could not be reached (retry). Both answer 404 on a
// replica that is not a consortium member. The JSON views answer
// api.ErrorBody: 404 when this node is not a consortium member, 500 when
// the history or the alerts cannot be read. Export fails on a node that
// is not a consortium member and at the first ledger it cannot write,
// naming its origin (what it wrote before stays).
package exchangeops
