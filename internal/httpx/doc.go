// Package httpx is the region replica's generic HTTP plumbing: the JSON
// answer writers, the API's error body (api.ErrorBody) and its
// constructors, the role gate on the caller's client certificate, reading
// a size-limited request body, splitting a submitted batch, the public form
// of ledger read errors, and the per-request write deadlines and server
// timeouts (issue 11 item 7). Package node keeps the route table and calls
// these; this package knows nothing of the node, owns no bucket and no
// state.
//
// # Guarantees
//
//   - Every error answer is an api.ErrorBody written as indented JSON with
//     the status it carries ([WriteErr]); the 429 of the rate limiter is one
//     too ([RefuseRate]).
//   - A caller learns what was wrong with its request and nothing of the
//     node's internals ([ReadError]): no package prefixes, stored widths,
//     file paths or bbolt messages; those go to the log given. Damaged
//     ledger data (ledger.ErrDamaged) is refused with 500 and logged at
//     ERROR, never served.
//   - A batch's records are returned exactly as sent (sub-slices of the
//     body, [SplitBatch]), so their hashes are those the agency signed.
//   - A client that stops reading holds its connection at most the
//     route's write deadline ([Timeouts]).
//
// # Failures
//
// Nothing here returns a Go error to its caller: failures are
// *api.ErrorBody values for the caller to write (400, 401, 403, 404, 413,
// 429, 500), or are written directly ([Require], [ReadBody]). A write to
// a client that went away is not reported (the handler has nobody to tell).
package httpx
