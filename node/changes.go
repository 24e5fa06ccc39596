package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/changes"
	"github.com/creditx/creditx/internal/index"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	Change       = api.Change
	ChangesPage  = api.ChangesPage
	EntryRefJSON = api.EntryRefJSON
)

// The changes feed (issue 18): package changes owns the index (its
// buckets, the change kinds, the positions); the FSM records each entry's
// change (indexChange) and GET /v1/changes reads pages of it with each
// listing's state now (change).

// indexChange records the listing change entry (origin, ek) makes, if any.
// Runs inside the FSM's transaction, after indexSanctions (which records a
// not-applied listing).
func (ix *indexer) indexChange(tx *ledger.Tx, origin string, ek []byte, v index.View) error {
	notApplied := false
	if v.Kind == "listing" {
		if b, err := tx.Bucket(bucketNotApplied); err == nil && b.Get(ek) != nil {
			notApplied = true
		}
	}
	return changes.Index(tx, origin, ek, v.Kind, v.Listing, notApplied)
}

// handleChanges is GET /v1/changes[?since=CURSOR][&limit=N][&wait=30s]: a
// page of listing state changes (ChangesPage), long-polling like
// GET /v1/notices when nothing is past the cursor (changes.Poll).
func (n *Node) handleChanges(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.require(w, r, pki.RoleExecute, pki.RolePublish, pki.RoleAdmin, pki.RoleAudit); !ok {
		return
	}
	fp, perr := parseFeedParams(r, feedChanges)
	if perr != nil {
		writeErr(w, perr)
		return
	}
	if fp.Wait > 0 {
		n.holdWrite(w)(fp.Wait) // the answer's write deadline past the hold
	}
	page, ok, err := changes.Poll(r.Context(), fp.From, fp.Limit, fp.Wait, n.sanctions.Wait, n.changesPage)
	switch {
	case err != nil:
		n.readError(w, "listing changes", err)
	case ok:
		writeJSON(w, http.StatusOK, page)
	}
}

// changesPage reads up to limit changes from positions from (seq; expiry
// date, expiry seq), entry-driven changes first, then expiries due at time
// at, in one transaction.
func (n *Node) changesPage(from []uint64, limit int, at time.Time) (ChangesPage, []uint64, error) {
	page := ChangesPage{Changes: []Change{}}
	next := from
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		page.Changes, page.More, next = changes.Page(tx, from, limit, at, func(kind, lo string, li uint64, co string, ci uint64) (Change, bool) {
			return n.change(tx, kind, lo, li, co, ci, at)
		})
		return nil
	})
	page.Next = EncodeCursor(feedChanges, next...)
	return page, next, err
}

// change builds one feed item: the listing at lo#li changed by the entry
// co#ci, with its state at time at (changes.NewChange).
func (n *Node) change(tx *ledger.ReadTx, kind, lo string, li uint64, co string, ci uint64, at time.Time) (Change, bool) {
	e, err := tx.Log(lo).Entry(li)
	if err != nil {
		return Change{}, false
	}
	l, err := schemas.DecodeListing(e)
	if err != nil {
		return Change{}, false
	}
	st := n.listingState(tx, lo, li, l, at)
	return changes.NewChange(kind, lo, li, e, l, co, ci, st.State, st.NotApplied != ""), true
}
