package node

import (
	"bytes"
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
// exchange.witness_logs, which any caller may submit.
func (n *Node) forwardWitness(w http.ResponseWriter, r *http.Request, body []byte, member string) {
	base, _ := n.leaderAPI()
	if base == "" {
		http.Error(w, "no raft leader known; retry", http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, base+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	if member != "" {
		req.Header.Set(forwardedMemberHeader, member)
	}
	resp, err := n.peer.Do(req)
	if err != nil {
		http.Error(w, "forwarding to the leader failed; retry: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}
