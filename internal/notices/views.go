package notices

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/exchange"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/schemas"
	"golang.org/x/mod/sumdb/tlog"
)

// List lists the notices whose index key starts with prefix (all of them
// for a nil prefix), with their state at time at.
func (s *Service) List(prefix []byte, at time.Time) ([]api.NoticeView, error) {
	var out []api.NoticeView
	err := s.host.View(func(tx *ledger.ReadTx) error {
		b := tx.Bucket(BucketNotices)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			_, rest, _ := bytes.Cut(k, []byte{0})
			origin, index, ok := exchange.SplitEntryKey(rest)
			if !ok {
				continue
			}
			v, ok, err := s.view(tx, origin, index, at)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

// view reads the sanction notice at origin#index with its feedback and its
// state at time at; false if the entry is not a sanction notice.
func (s *Service) view(tx *ledger.ReadTx, origin string, index uint64, at time.Time) (api.NoticeView, bool, error) {
	e, err := tx.Log(origin).Entry(index)
	if err != nil {
		return api.NoticeView{}, false, nil
	}
	nt, ok := schemas.DecodeEntry(e).(*schemas.SanctionNotice)
	if !ok {
		return api.NoticeView{}, false, nil
	}
	lh := tlog.RecordHash(e)
	var fbs []*schemas.Feedback
	var unbound []string
	for _, ev := range s.host.Referencing(tx, origin, index) {
		if fb, ok := readRecord(tx, ev.Origin, ev.Index).(*schemas.Feedback); ok {
			// the owner table: only the addressee, in this ledger (internal/admission/owner.go)
			if why := sanctions.FeedbackUnbound(fb, ev.Origin, nt, origin); why != "" {
				unbound = append(unbound, fmt.Sprintf("%s#%d: %s", ev.Origin, ev.Index, why))
				continue
			}
			fbs = append(fbs, fb)
		}
	}
	var st sanctions.Status
	if le, err := tx.Log(nt.Listing.Origin).Entry(nt.Listing.Index); err == nil {
		if l, ok := schemas.DecodeEntry(le).(*schemas.Listing); ok {
			h, err := s.host.History(tx, nt.Listing.Origin, nt.Listing.Index, l)
			if err != nil {
				return api.NoticeView{}, false, fmt.Errorf("history of listing %s#%d: %w", nt.Listing.Origin, nt.Listing.Index, err)
			}
			st, _ = s.host.EngineIn(tx).State(h, at)
		}
	}
	eff, dc := adopted.EffectiveNotice(tx, origin, index, nt)
	ns := sanctions.NoticeStatus(eff, fbs, st, at)
	return api.NoticeView{Origin: origin, Index: index, Notice: nt, LeafHash: hex.EncodeToString(lh[:]), State: ns.State, Late: ns.Late, Reason: ns.Reason, Feedback: ns.Feedback, Unbound: unbound,
		FeedbackDue: eff.FeedbackDue, Provisional: eff.FeedbackDueProvisional, DueCorrection: dc}, true, nil
}

// Filter keeps the views whose state is in states (all if empty or "all").
func Filter(vs []api.NoticeView, states []string) []api.NoticeView {
	if len(states) == 0 || slices.Contains(states, "all") {
		return vs
	}
	var out []api.NoticeView
	for _, v := range vs {
		if slices.Contains(states, v.State) {
			out = append(out, v)
		}
	}
	return out
}

// Page reads, in one transaction, up to limit notices addressed to agency
// at feed positions from on, with their state at time at, keeping those
// whose state is in states (all if empty). A notice skipped by the state
// filter is passed over by the cursor like a returned one.
//
// Guarantee: reading with since= the "next" of the previous answer, over
// and over, returns every notice addressed to the agency exactly once, in
// log order, however notices are issued meanwhile. It holds because a
// notice's feed position is its index in the log this region writes its
// notices to (its ledger, or its loop log with sanctions.loop_log; the only
// log whose notices are addressed to this region's agencies), the notices
// index is written in the same bbolt transaction that appends the entry,
// and entries are appended in index order: a notice not yet visible always
// gets an index at or past the log size a reader saw. An answer that
// reaches the end of the agency's notices therefore answers next = that
// size, not the last notice's index + 1, so the next read skips nothing and
// scans nothing twice (node's TestNoticesCursorConcurrent checks this with
// more than 10,000 notices issued while a reader pages). A member that
// turns the loop log on over a ledger that already holds notices keeps
// those in the notices index (the audit page and the metrics count them,
// feedback on them still goes to the ledger) but its feed restarts over
// the loop log: positions are loop-log indexes from then on.
func (s *Service) Page(agency string, from uint64, limit int, states []string, at time.Time) (api.NoticesPage, error) {
	page := api.NoticesPage{Notices: []api.NoticeView{}}
	next := from
	own := s.logs.NoticeOrigin() // the feed runs over the log new notices go to
	err := s.host.View(func(tx *ledger.ReadTx) error {
		prefix := append([]byte(agency), 0)
		size := tx.Log(own).Size()
		b := tx.Bucket(BucketNotices)
		if b == nil {
			next = max(next, size)
			return nil
		}
		c := b.Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), exchange.EntryKey(own, from)...))
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			origin, index, ok := exchange.SplitEntryKey(k[len(prefix):])
			if !ok || origin != own {
				continue // only own notices are indexed
			}
			if len(page.Notices) == limit {
				page.More = true
				break
			}
			next = index + 1
			v, ok, err := s.view(tx, origin, index, at)
			if err != nil {
				return err
			}
			if !ok || len(Filter([]api.NoticeView{v}, states)) == 0 {
				continue
			}
			page.Notices = append(page.Notices, v)
		}
		if !page.More {
			// The end of the agency's notices: every later notice gets an
			// index at or past the size read in this same transaction.
			next = max(next, size)
		}
		return nil
	})
	page.Next = EncodeCursor(FeedNotices, next)
	return page, err
}
