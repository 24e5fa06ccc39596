package node

import (
	"io"
	"net/http"
	"strings"

	"github.com/creditx/creditx/exchange"
)

// forwardedMemberHeader names the member on whose behalf a follower forwards
// a witness request to its leader. The leader trusts it only from a replica
// of its own region (mutual TLS, role replica).
const forwardedMemberHeader = "Creditx-Forwarded-Member"

// forwardWitness relays a member's add-checkpoint request from a follower to
// the region's leader and copies the answer back unchanged.
func (n *Node) forwardWitness(w http.ResponseWriter, r *http.Request, member string) {
	base, _ := n.leaderAPI()
	if base == "" {
		http.Error(w, "no raft leader known; retry", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, exchange.MaxAddCheckpointSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, base+r.URL.Path, strings.NewReader(string(body)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	req.Header.Set(forwardedMemberHeader, member)
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
