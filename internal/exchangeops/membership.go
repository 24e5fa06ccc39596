package exchangeops

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/httpx"
	"github.com/creditx/creditx/schemas"
)

// Membership on the ledger (issue 16): GET /v1/membership answers with the
// membership history this node reconstructs from the manifest_propose and
// manifest_approve records of its own ledger and its mirrors
// (exchange.Reconstruct, genesis: the configured manifest). It is public,
// like /v1/exchange: a manifest holds no secret.
//
// The node follows the manifest in force live (exchange/live.go); Running
// is the manifest its loops use, equal to InForce unless the history could
// not be read.

// DescribeChange is a one-line summary of a proposal.
func DescribeChange(p *schemas.ManifestPropose) string {
	if p.Change == nil {
		return "replace the manifest"
	}
	s := p.Change.Op + " " + p.Change.Code
	if p.Change.Name != "" {
		s += " (" + p.Change.Name + ")"
	}
	if p.Change.Endpoint != "" {
		s += " " + p.Change.Endpoint
	}
	return s
}

// History reconstructs the membership history
// (exchange.Runtime.Membership); nil if this node is not a consortium
// member.
func (h *Handlers) History() (*exchange.History, error) {
	if h.x == nil {
		return nil, nil
	}
	return h.x.Membership()
}

// Membership is GET /v1/membership (api.MembershipView).
func (h *Handlers) Membership(w http.ResponseWriter, r *http.Request) {
	hs, err := h.History()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	if hs == nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusNotFound, "this node is not a consortium member"))
		return
	}
	cur := hs.Current()
	y, err := cur.Manifest.Encode()
	if err != nil {
		httpx.WriteErr(w, httpx.Errorf(http.StatusInternalServerError, "encoding the manifest in force: %v", err))
		return
	}
	v := api.MembershipView{Genesis: hs.Versions[0].Hash, Running: exchange.ManifestHash(h.x.InForce()), InForce: cur.Hash, Version: cur.Manifest.Version,
		Manifest: string(y), Versions: []api.MembershipVersionView{}, Pending: []api.MembershipPendingView{}, Refused: []string{}}
	for _, ver := range hs.Versions[1:] {
		v.Versions = append(v.Versions, api.MembershipVersionView{Version: ver.Manifest.Version, SHA256: ver.Hash, From: ver.From,
			By: ver.Proposal.By, Index: ver.Proposal.Index, Change: DescribeChange(ver.Proposal.Propose), Approvers: ver.Approvers, Electorate: ver.Electorate})
	}
	for _, p := range hs.Pending {
		v.Pending = append(v.Pending, api.MembershipPendingView{By: p.Proposal.By, Index: p.Proposal.Index, SHA256: p.Proposal.Propose.SHA256,
			Base: p.Proposal.Propose.Base, Change: DescribeChange(p.Proposal.Propose), Votes: p.Votes, Needed: p.Needed})
	}
	for _, rf := range hs.Refused {
		v.Refused = append(v.Refused, fmt.Sprintf("%s#%d: %s", schemas.LedgerOrigin(rf.Record.By), rf.Record.Index, rf.Reason))
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

// CheckManifestPropose is admission's check of a manifest_propose record:
// it must change the manifest in force (base) and its sha256 must be the
// hash of the manifest it yields, else it could never take effect. It
// returns the field refused and why; "" when admitted.
func (h *Handlers) CheckManifestPropose(p *schemas.ManifestPropose) (field, msg string) {
	hs, err := h.History()
	if err != nil {
		return "record.manifest_propose", err.Error()
	}
	if hs == nil {
		return "record.manifest_propose", "this node is not a consortium member"
	}
	cur := hs.Current()
	if p.Base != cur.Hash {
		return "record.manifest_propose.base", fmt.Sprintf("is not the manifest in force (version %d, %s)", cur.Manifest.Version, cur.Hash)
	}
	var res *exchange.Manifest
	if p.Change != nil {
		res, err = exchange.ApplyChange(cur.Manifest, p.Change)
	} else if res, err = exchange.ParseManifest([]byte(p.Manifest)); err == nil && res.Version <= cur.Manifest.Version {
		return "record.manifest_propose.manifest", fmt.Sprintf("version %d is not larger than the version in force %d", res.Version, cur.Manifest.Version)
	}
	if err != nil {
		var ce *exchange.ChangeError
		var me *exchange.ManifestError
		switch {
		case errors.As(err, &ce):
			return "record.manifest_propose." + ce.Field, ce.Reason
		case errors.As(err, &me):
			return "record.manifest_propose.manifest", me.Error()
		}
		return "record.manifest_propose", err.Error()
	}
	if got := exchange.ManifestHash(res); got != p.SHA256 {
		return "record.manifest_propose.sha256", "is not the hash of the manifest the change yields (" + got + ")"
	}
	return "", ""
}
