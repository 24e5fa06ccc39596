package exchangeops

import (
	"context"
	"io"
	"net/http"

	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
)

// Node is what the exchange endpoints need of the region replica.
type Node interface {
	// Require answers 401/403 and returns false unless the caller has one
	// of roles.
	Require(w http.ResponseWriter, r *http.Request, roles ...pki.Role) (pki.Identity, bool)
	// View runs fn in a read transaction of this replica's ledger.db (the
	// state applied here, which may trail the leader's).
	View(fn func(tx *ledger.ReadTx) error) error
	// RetryLeader is the replica's one retry rule towards its leader: try
	// runs with leader saying whether this replica leads now, and runs
	// again after a retryable error (the leader changed or could not be
	// reached) until ctx ends.
	RetryLeader(ctx context.Context, try func(ctx context.Context, leader bool) error) error
	// CallLeader sends one request to the leader's API over the replicas'
	// mutual-TLS client and returns its response (the caller closes the
	// body) and the leader's id.
	CallLeader(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, string, error)
}

// Handlers serves the exchange endpoints of one replica.
type Handlers struct {
	region string            // the region's code
	x      *exchange.Runtime // nil: this node is not a consortium member
	n      Node
	leader func() bool // whether this replica leads now
}

// New returns the handlers of the replica of region over runtime x (nil
// when the node is not a consortium member); leader says whether the
// replica leads now.
func New(region string, x *exchange.Runtime, leader func() bool, n Node) *Handlers {
	return &Handlers{region: region, x: x, n: n, leader: leader}
}

// Alerts returns every recorded alert, oldest first.
func (h *Handlers) Alerts() ([]exchange.AlertView, error) {
	var out []exchange.AlertView
	err := h.n.View(func(tx *ledger.ReadTx) (err error) {
		out, err = exchange.ReadAlerts(tx)
		return err
	})
	return out, err
}

// ServeAlerts is GET /v1/alerts (admin, audit, replica, member).
func (h *Handlers) ServeAlerts(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.n.Require(w, r, pki.RoleAdmin, pki.RoleAudit, pki.RoleReplica, pki.RoleMember); !ok {
		return
	}
	as, err := h.Alerts()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, as)
}

// Status returns the exchange summary (nil without an exchange).
func (h *Handlers) Status() (*exchange.Status, error) {
	if h.x == nil {
		return nil, nil
	}
	return h.x.Status()
}

// ServeStatus is GET /v1/exchange, public.
func (h *Handlers) ServeStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.Status()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	if st == nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "this node is not a consortium member"))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

// ForwardedMemberHeader names the member on whose behalf a follower
// relays a witness request to its leader. The leader trusts it only from a
// replica of its own region (mutual TLS, role replica).
const ForwardedMemberHeader = "Creditx-Forwarded-Member"

// forwardWitness relays an add-checkpoint request (body, already read)
// from a follower to the region's leader and copies the answer back
// unchanged. member names the member on whose behalf it is sent; "" for a
// log of exchange.witness_logs, which any caller may submit. Reaching the
// leader follows the one retry rule (Node.RetryLeader, bounded by the
// request's context); whatever the leader answers is the answer.
func (h *Handlers) forwardWitness(w http.ResponseWriter, r *http.Request, body []byte, member string) {
	hd := http.Header{"Content-Type": {r.Header.Get("Content-Type")}}
	if member != "" {
		hd.Set(ForwardedMemberHeader, member)
	}
	err := h.n.RetryLeader(r.Context(), func(ctx context.Context, _ bool) error {
		resp, _, err := h.n.CallLeader(ctx, http.MethodPost, r.URL.Path, body, hd)
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
