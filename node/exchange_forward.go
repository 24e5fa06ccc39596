package node

import (
	"context"
	"io"
	"net/http"
)

// forwardedMemberHeader names the member on whose behalf a follower forwards
// a witness request to its leader. The leader trusts it only from a replica
// of its own region (mutual TLS, role replica).
const forwardedMemberHeader = "Creditx-Forwarded-Member"

// forwardWitness relays an add-checkpoint request (body, already read) from
// a follower to the region's leader and copies the answer back unchanged.
// member names the member on whose behalf it is sent; "" for a log of
// exchange.witness_logs, which any caller may submit. Reaching the leader
// follows the one retry rule (retryLeader, bounded by the request's
// context); whatever the leader answers is the answer.
func (n *Node) forwardWitness(w http.ResponseWriter, r *http.Request, body []byte, member string) {
	h := http.Header{"Content-Type": {r.Header.Get("Content-Type")}}
	if member != "" {
		h.Set(forwardedMemberHeader, member)
	}
	err := n.retryLeader(r.Context(), func(ctx context.Context, _ bool) error {
		resp, _, err := n.callLeader(ctx, http.MethodPost, r.URL.Path, body, h)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if v := resp.Header.Get("Content-Type"); v != "" {
			w.Header().Set("Content-Type", v)
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, io.LimitReader(resp.Body, 1<<20))
		return nil
	})
	if err != nil {
		http.Error(w, "forwarding to the leader failed; retry: "+err.Error(), http.StatusServiceUnavailable)
	}
}
