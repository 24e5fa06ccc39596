package changes

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// Reader reads one page of the feed: up to limit changes from positions
// from, with each listing's state at time at, in one transaction of
// ledger.db ([Page] with the node's [Item]); it returns the page and the
// positions after it.
type Reader func(from []uint64, limit int, at time.Time) (api.ChangesPage, []uint64, error)

// Poll is the long poll of GET /v1/changes: it reads a page from positions
// from and returns it at once if it holds changes or more are past it;
// else it waits for woken (a channel closed at the next commit of the
// node's sanctions state, asked for before each read so that no commit is
// missed), the next midnight (China time: expiries come by the calendar)
// or the end of wait, and reads again from where the empty page ended. It
// returns ok false, and no error, when ctx ends first (the caller went
// away: nothing to answer); err is the first failed read.
func Poll(ctx context.Context, from []uint64, limit int, wait time.Duration, woken func() <-chan struct{}, read Reader) (page api.ChangesPage, ok bool, err error) {
	deadline := time.Now().Add(wait)
	for {
		changed := woken()
		page, next, err := read(from, limit, time.Now())
		if err != nil {
			return page, false, err
		}
		if len(page.Changes) > 0 || page.More || !time.Now().Before(deadline) {
			return page, true, nil
		}
		from = next
		t := time.NewTimer(min(time.Until(deadline), time.Until(NextMidnight(time.Now()))))
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return page, false, nil
		}
		t.Stop()
	}
}

// RefOf is the reference (with leaf hash) of entry e at origin#index.
func RefOf(origin string, index uint64, e []byte) schemas.Ref {
	h := tlog.RecordHash(e)
	return schemas.Ref{Origin: origin, Index: index, Hash: hex.EncodeToString(h[:])}
}

// NewChange is one feed item: the listing l (entry e at lo#li) changed by
// the entry co#ci (kind), whose state now is state; notApplied says
// whether this member applies none of its measures (an active listing is
// then NotApplied). A natural person is never named by USCC.
func NewChange(kind, lo string, li uint64, e []byte, l *schemas.Listing, co string, ci uint64, state string, notApplied bool) api.Change {
	ch := api.Change{Change: kind, Listing: RefOf(lo, li, e), Cause: api.EntryRefJSON{Origin: co, Index: ci}, State: state,
		Domain: l.Domain, Programme: l.Programme.Code, SubjectType: l.Subject.Type, PublicityEnd: l.PublicityEnd}
	if notApplied && state == "active" {
		ch.State = NotApplied
	}
	if l.Subject.Type != schemas.SubjectNaturalPerson {
		ch.SubjectUSCC = l.Subject.USCC
	}
	return ch
}
