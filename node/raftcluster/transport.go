package raftcluster

import (
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Bounded AppendEntries (issue 21). hashicorp/raft bounds an AppendEntries
// by its number of entries only (MaxAppendEntries, 1024 here, which also
// bounds group commit's gather), and a raft entry here is a whole raft
// command: a client's batch or a merged append of up to 4 MiB, and up to
// twice node's MaxBodyBytes for one forwarded command. A follower far
// behind was sent every missing entry in one message: in node's
// TestFollowerCatchesUp100k ~200 entries, ~150 MB, which the network
// transport must send, and the follower store and answer, within the
// transport's 10 s deadline. Under load it did not ("i/o timeout" in the
// leader's log), the whole message was sent again after a backoff, and the
// follower stayed at its old size and then took everything at once
// (catch-up 23.7-35 s quiet, 1m12s-2m10s loaded).
//
// boundedTransport sends such a request as consecutive requests of at
// most maxBytes of entries each (an entry larger than that goes alone):
// the same entries, each request's previous-entry fields naming the last
// entry of the one before, as raft would send them with a smaller
// MaxAppendEntries. Each is a separate RPC with its own deadline, and the
// follower stores, commits and applies each before the next arrives, so a
// catch-up advances in steps. What raft sees is unchanged:
//
//   - AppendEntries (raft's replicateTo, one request at a time) sends the
//     parts in order and answers with the last part's response, or with the
//     first that is not a success (a newer term, a log mismatch) or the
//     first error; raft then treats the whole request as failed or refused,
//     and sends again from its last known match, as after any failure (the
//     follower skips the entries it already holds).
//   - The pipeline (raft's pipelineSend) sends the parts as consecutive
//     pipelined requests; raft's decoder takes each part's response as that
//     of its own request and advances the follower's match by its entries.
//
// Group commit is untouched: only the wire is split, MaxAppendEntries
// stays. Nothing of raft's safety depends on the split: each part is a
// valid AppendEntries on its own, and raft's match index only advances by
// the entries of a request that was answered with success.
type boundedTransport struct {
	*raft.NetworkTransport
	maxBytes int
}

// entryOverhead approximates the bytes an entry adds to an AppendEntries
// besides its Data and Extensions (index, term, type, time, msgpack field
// names), so that many small entries count too.
const entryOverhead = 64

// entryBytes is what an entry counts against the bound.
func entryBytes(l *raft.Log) int {
	return len(l.Data) + len(l.Extensions) + entryOverhead
}

// newTransport is the network transport of a replica, over sl, whose
// AppendEntries carry at most maxBytes of entries each.
func newTransport(sl raft.StreamLayer, maxBytes int, timeout time.Duration, logger hclog.Logger) (*raft.NetworkTransport, raft.Transport) {
	nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: sl, MaxPool: 5, Timeout: timeout, Logger: logger,
	})
	return nt, boundedTransport{NetworkTransport: nt, maxBytes: maxBytes}
}

// splitAppend returns req as consecutive requests of at most maxBytes of
// entries each (entryBytes; an entry above maxBytes alone), or req itself
// when it fits. Each part has req's header and commit index, and as its
// previous entry the last entry of the part before (the first: req's).
func splitAppend(req *raft.AppendEntriesRequest, maxBytes int) []*raft.AppendEntriesRequest {
	total := 0
	for _, e := range req.Entries {
		total += entryBytes(e)
	}
	if total <= maxBytes {
		return []*raft.AppendEntriesRequest{req}
	}
	var parts []*raft.AppendEntriesRequest
	prevIndex, prevTerm := req.PrevLogEntry, req.PrevLogTerm
	start, size := 0, 0
	cut := func(end int) {
		p := *req
		p.Entries = req.Entries[start:end:end]
		p.PrevLogEntry, p.PrevLogTerm = prevIndex, prevTerm
		last := req.Entries[end-1]
		prevIndex, prevTerm = last.Index, last.Term
		parts = append(parts, &p)
		start, size = end, 0
	}
	for i, e := range req.Entries {
		if b := entryBytes(e); size > 0 && size+b > maxBytes {
			cut(i)
		}
		size += entryBytes(e)
	}
	cut(len(req.Entries))
	return parts
}

// AppendEntries sends args in parts of at most t.maxBytes of entries, one
// after another, and stops at the first error or the first response that
// is not a success; resp is that response or the last part's.
func (t boundedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	parts := splitAppend(args, t.maxBytes)
	if len(parts) == 1 {
		return t.NetworkTransport.AppendEntries(id, target, args, resp)
	}
	for _, p := range parts {
		*resp = raft.AppendEntriesResponse{}
		if err := t.NetworkTransport.AppendEntries(id, target, p, resp); err != nil {
			return err
		}
		if !resp.Success || resp.Term > args.Term {
			return nil
		}
	}
	return nil
}

// AppendEntriesPipeline is the network transport's pipeline, sending each
// request in parts (see boundedPipeline).
func (t boundedTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return boundedPipeline{AppendPipeline: p, maxBytes: t.maxBytes}, nil
}

// boundedPipeline pipelines a request as consecutive requests of at most
// maxBytes of entries each. Raft's decoder reads one future per part from
// Consumer, each with its own request, and stops the pipeline at the first
// failure, as for requests it made itself.
type boundedPipeline struct {
	raft.AppendPipeline
	maxBytes int
}

// AppendEntries pipelines args's parts and returns the last part's future;
// resp is filled only when args is sent whole (raft reads the responses
// from Consumer's futures, not from resp).
func (p boundedPipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	parts := splitAppend(args, p.maxBytes)
	if len(parts) == 1 {
		return p.AppendPipeline.AppendEntries(args, resp)
	}
	var f raft.AppendFuture
	for _, part := range parts {
		var err error
		if f, err = p.AppendPipeline.AppendEntries(part, new(raft.AppendEntriesResponse)); err != nil {
			return nil, err
		}
	}
	return f, nil
}
