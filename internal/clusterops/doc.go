// Package clusterops serves the raft membership of a region's replicas
// (docs/API.md):
//
//	GET    /v1/cluster                (admin, audit, replica)
//	POST   /v1/cluster/replicas       (admin; a replica adding itself)
//	DELETE /v1/cluster/replicas/{id}  (admin)
//
// Package node/raftcluster makes the changes on raft (AddVoter, Remove,
// Status); package node runs the replica and its one retry rule towards the
// leader. This package owns what lies between: who may ask, the body of an
// addition, relaying a follower's request to the leader and the answers.
// It reaches the replica only through [Node] and [Config].
//
// # Guarantees
//
//   - A change is answered 200 only after raft committed the new
//     configuration on a quorum of the configuration it replaces
//     ([api.ClusterChange], with the configuration read after it).
//   - Repeating a request is safe: adding the same id with the same
//     address and removing an id that is already gone are answered without
//     a new change (changed false; 404 for the removal, so that a caller can
//     tell).
//   - Only a certificate of the region may change its replicas; a replica
//     may add only itself. The receiving replica authorizes the caller; a
//     follower then relays the request to its leader with its own replica
//     certificate and [ForwardedHeader], and the leader trusts that from a
//     replica of its own region (as for /internal/v1/apply). A relayed
//     request is never relayed again: a replica that does not lead answers
//     it 421 and the relaying follower looks the leader up again.
//
// # Failures
//
// Every failure is answered as JSON (api.ErrorBody): 400 for a malformed
// body, 401/403 for the wrong caller, 404 for removing an unknown replica,
// 409 for an id or address already used otherwise, 413 for a body over
// 4 KiB, 421 for a relayed request reaching a replica that does not lead,
// 503 when nothing is known to be committed (the leader could not be
// reached or lost the lead, or the change timed out): the request may be
// repeated. A change is bounded by [ChangeTimeout].
package clusterops
