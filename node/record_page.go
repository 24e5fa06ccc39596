package node

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/internal/pages"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// handleRecordPage is /records/{code}/{index}: one ledger entry as a page
// in Chinese, shaped for the caller exactly like GET /v1/records (the same
// recordView, the same access logging of personal data), with the proof
// material and the signed JSON folded away below.
func (n *Node) handleRecordPage(w http.ResponseWriter, r *http.Request) {
	id := pki.IdentityFromRequest(r)
	type page struct {
		pageBase
		View    *RecordView
		Listing *schemas.Listing
		Status  *ListingStatus
		JSON    string
		Problem string
		Code    string
	}
	p := page{pageBase: n.base("记录 Record"), Code: r.PathValue("code")}
	origin, ok := n.originForCode(p.Code)
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if !ok || err != nil {
		p.Problem = fmt.Sprintf("本节点没有账本 %q 的第 %q 条记录 (no such ledger or index)", clip(p.Code), clip(r.PathValue("index")))
		n.renderStatus(w, http.StatusNotFound, "record", p)
		return
	}
	var rec schemas.Record
	err = n.fsm.view(func(tx *ledger.ReadTx) error {
		var err error
		p.View, rec, err = n.recordView(tx, id.Role, origin, index)
		if l, ok := rec.(*schemas.Listing); ok && p.View != nil {
			st := n.listingState(tx, origin, index, l, time.Now())
			p.Listing, p.Status = l, &st
		}
		return err
	})
	if err != nil || p.View == nil {
		p.Problem = fmt.Sprintf("记录 %s #%d 未公开或不存在 (not published, or not here)", origin, index)
		n.renderStatus(w, http.StatusNotFound, "record", p)
		return
	}
	if disclose.Personal(rec) && id.Role != pki.RolePublic {
		if !n.logAccessOrFail(w, r, id, fmt.Sprintf("record %s/%d", origin, index)) {
			return
		}
	}
	if p.Listing != nil {
		p.Title = p.Listing.Subject.Name + " · 记录 Record"
	}
	p.JSON, p.Listing = pages.RecordJSON(p.View.Record, p.View.Shaped, p.Listing) // masked forms only, as in the JSON shown
	n.render(w, "record", p)
}
