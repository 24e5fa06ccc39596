package node

import (
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	MembershipView        = api.MembershipView
	MembershipVersionView = api.MembershipVersionView
	MembershipPendingView = api.MembershipPendingView
)

// Membership on the ledger (issue 16): GET /v1/membership and admission's
// check of a manifest_propose record are package exchangeops, over the
// history the exchange runtime reconstructs (exchange.Runtime.Membership).

// Membership reconstructs the membership history (exchange.Runtime.Membership);
// nil if this node is not a consortium member.
func (n *Node) Membership() (*exchange.History, error) { return n.exchangeOps().History() }

func (n *Node) handleMembership(w http.ResponseWriter, r *http.Request) {
	n.exchangeOps().Membership(w, r)
}

// checkManifestPropose is admission's check of a manifest_propose record
// (exchangeops.Handlers.CheckManifestPropose).
func (n *Node) checkManifestPropose(p *schemas.ManifestPropose) (field, msg string) {
	return n.exchangeOps().CheckManifestPropose(p)
}
