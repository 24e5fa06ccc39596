package exchangeops

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// Witness is the C2SP tlog-witness add-checkpoint endpoint, served over
// HTTP/3 and HTTPS. A member's ledger is witnessed for its member only
// (role member, of an active member); a log listed in
// exchange.witness_logs for any caller, certificate or not. Status codes
// are the spec's: 400 malformed (or old size above the checkpoint size),
// 403 no valid signature by the log's key, 404 unknown origin, 409 old size
// mismatch (body: the last cosigned size, text/x.tlog.size), 422
// inconsistent (a consistency proof that does not verify, a proof with old
// size 0, an empty tree with a non-empty root, the same size with another
// root): the decision is the exchange's (exchange.Runtime.ServeCosign);
// admitting the caller is here. A follower relays the request to the
// leader (the witness state lives in raft), so any replica of a member can
// be its endpoint.
func (h *Handlers) Witness(w http.ResponseWriter, r *http.Request) {
	x := h.x
	if x == nil {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, exchange.MaxAddCheckpointSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	a, err := exchange.ParseAddCheckpoint(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	origin, _, _ := bytes.Cut(a.Checkpoint, []byte("\n"))
	tg, ok := x.Target(string(origin))
	if !ok {
		http.Error(w, fmt.Sprintf("unknown origin %q", origin), http.StatusNotFound)
		return
	}
	id := pki.IdentityFromRequest(r)
	switch {
	case tg.Member == nil && id.Role == pki.RoleReplica && id.Region == h.region:
		// a follower of this region relayed a request for an open log
	case tg.Member == nil:
		if !h.leader() {
			h.forwardWitness(w, r, body, "")
			return
		}
	default:
		if id, ok = h.n.Require(w, r, pki.RoleMember, pki.RoleReplica); !ok {
			return
		}
		if id.Role == pki.RoleReplica {
			// a follower of this region relayed a member's request
			code := r.Header.Get(ForwardedMemberHeader)
			if id.Region != h.region || code == "" {
				httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "only a replica of %s may forward witness requests, naming the member", h.region))
				return
			}
			id.Region = code
		} else if !h.leader() {
			h.forwardWitness(w, r, body, id.Region)
			return
		}
		if !x.Effective()[id.Region] {
			httpx.WriteErr(w, httpx.Errorf(http.StatusForbidden, "member %s is not an active, approved member", id.Region))
			return
		}
	}
	x.ServeCosign(r.Context(), w, tg, a)
}

// WitnessMonitor serves C2SP tlog-witness's monitoring API, public:
// GET /witness/<lower-case hex SHA-256 of the origin>/checkpoint answers
// the latest checkpoint this witness cosigned for that log, with the log's
// signature and this witness's cosignature; 404 if it never cosigned one.
func (h *Handlers) WitnessMonitor(w http.ResponseWriter, r *http.Request) {
	if h.x == nil {
		http.NotFound(w, r)
		return
	}
	want, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(want) != sha256.Size || strings.ToLower(r.PathValue("hash")) != r.PathValue("hash") {
		http.Error(w, "origin hash must be the lower-case hex SHA-256 of the origin", http.StatusNotFound)
		return
	}
	var found []byte
	err = h.n.View(func(tx *ledger.ReadTx) (err error) {
		found, err = exchange.MonitorCheckpoint(tx, want)
		return err
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if found == nil {
		http.Error(w, "this witness never cosigned a checkpoint for that log", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(found)
}
