package node

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/disclose"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/pki"
	"github.com/creditx/creditx/schemas"
)

// Wire types of this file's endpoints (package api).
type (
	NoticesPage = api.NoticesPage
)

// The agency inbox (issue 18): GET /v1/notices pages through the sanction
// notices addressed to one executing agency with an opaque cursor.
//
// Guarantee: reading with since= the "next" of the previous answer, over and
// over, returns every notice addressed to the agency exactly once, in ledger
// order, however notices are issued meanwhile. It holds because a notice's
// feed position is its index in the log this region writes its notices to
// (its ledger, or its loop log with sanctions.loop_log: loop.go; the only
// log whose notices are addressed to this region's agencies), the
// notice index is written in the same bbolt transaction that appends the
// entry, and entries are appended in index order: a notice not yet visible
// always gets an index at or past the ledger size a reader saw. An answer
// that reaches the end of the agency's notices therefore answers next = that
// size, not the last notice's index + 1, so the next read skips nothing and
// scans nothing twice. TestNoticesCursorConcurrent checks this with more than
// 10,000 notices issued while a reader pages. A member that turns the loop
// log on over a ledger that already holds notices keeps those in the
// notices index (the audit page and the metrics count them, feedback on them
// still goes to the ledger) but its feed restarts over the loop log:
// positions are loop-log indexes from then on.

// Cursor feeds: the byte after the version says which feed a cursor belongs
// to, so that a cursor of one feed is refused by the other instead of
// silently skipping.
const (
	cursorVersion = 1
	feedNotices   = 'n'
	feedChanges   = 'c'
)

// Page sizes of the cursor feeds.
const (
	defaultFeedLimit = 100
	maxFeedLimit     = 1000
)

// ErrBadCursor is wrapped by every error of DecodeCursor: the caller sent a
// cursor this node did not make (answer 400 and start again without since).
var ErrBadCursor = errors.New("not a cursor of this feed")

// feedPositions is how many positions a cursor of each feed holds.
var feedPositions = map[byte]int{feedNotices: 1, feedChanges: 3}

// EncodeCursor returns the opaque cursor at positions pos of feed
// (feedNotices: one position, feedChanges: three). Byte by byte, before
// base64url (RFC 4648 section 5, no padding):
//
//	byte 0      version, 1
//	byte 1      feed: 'n' notices, 'c' changes
//	then        one uint64 big-endian per position: the first feed position
//	            not yet returned (notices: an index of this region's ledger;
//	            changes: a sequence number of the changes index, then the
//	            date and sequence number of the expiry index, changes.go)
//
// A later version may append bytes or change the meaning of a position; it
// bumps byte 0, and a node refuses versions it does not know (400), so a
// client restarts from the beginning rather than misreading a position.
func EncodeCursor(feed byte, pos ...uint64) string {
	b := make([]byte, 0, 2+8*len(pos))
	b = append(b, cursorVersion, feed)
	for _, p := range pos {
		b = binary.BigEndian.AppendUint64(b, p)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor of feed made by EncodeCursor and returns its
// positions. The empty string is the start of the feed (every position 0).
func DecodeCursor(feed byte, s string) ([]uint64, error) {
	n, ok := feedPositions[feed]
	if !ok {
		panic(fmt.Sprintf("DecodeCursor: unknown feed %q", feed)) // invariant: callers pass a constant
	}
	if s == "" {
		return make([]uint64, n), nil
	}
	want := 2 + 8*n
	if len(s) > 64 {
		return nil, fmt.Errorf("%w: %d characters, a cursor of this feed has %d", ErrBadCursor, len(s), base64.RawURLEncoding.EncodedLen(want))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", ErrBadCursor, err)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, a cursor of this feed has %d", ErrBadCursor, len(b), want)
	}
	if b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: version %d, this node knows %d", ErrBadCursor, b[0], cursorVersion)
	}
	if b[1] != feed {
		return nil, fmt.Errorf("%w: it belongs to the %s feed, not to the %s feed", ErrBadCursor, feedName(b[1]), feedName(feed))
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes, a cursor of this feed has %d", ErrBadCursor, len(b), want)
	}
	pos := make([]uint64, n)
	for i := range pos {
		pos[i] = binary.BigEndian.Uint64(b[2+8*i:])
	}
	if EncodeCursor(feed, pos...) != s {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadCursor) // line breaks, stray bits
	}
	return pos, nil
}

func feedName(f byte) string {
	switch f {
	case feedNotices:
		return "notices (GET /v1/notices)"
	case feedChanges:
		return "changes (GET /v1/changes)"
	}
	return fmt.Sprintf("unknown (%#x)", f)
}

// feedParams are the paging parameters common to the cursor feeds.
type feedParams struct {
	from  []uint64 // the cursor's positions
	limit int
	wait  time.Duration
}

// parseFeedParams reads since=, limit= and wait= of a cursor feed request.
func parseFeedParams(r *http.Request, feed byte) (feedParams, *apiError) {
	q := r.URL.Query()
	var p feedParams
	var err error
	if p.from, err = DecodeCursor(feed, q.Get("since")); err != nil {
		return p, fieldErrorf("since", "cursor", "since: %v; use the \"next\" of an earlier answer, or leave since out to start at the beginning", err)
	}
	l, perr := parseCount("limit", q.Get("limit"), defaultFeedLimit, maxFeedLimit)
	if perr != nil {
		return p, fieldErrorf("limit", "limit", "%s", perr.Error)
	}
	if l == 0 {
		return p, fieldErrorf("limit", "limit", "limit: 0 returns nothing; give 1 to %d (default %d)", maxFeedLimit, defaultFeedLimit)
	}
	p.limit = int(l)
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > maxLongPoll {
			return p, fieldErrorf("wait", "wait", "wait: %q is not a duration up to %v", clip(s), maxLongPoll)
		}
		p.wait = d
	}
	return p, nil
}

// fieldErrorf is a 400 naming one query parameter.
func fieldErrorf(field, rule, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{Status: http.StatusBadRequest, Error: msg, Errors: []FieldError{{Record: -1, Field: field, Rule: rule, Message: msg}}}
}

// handleNotices is GET /v1/notices?agency=<USCC>[&since=CURSOR][&limit=N][&state=pending,overdue][&wait=30s]:
// the sanction notices addressed to an executing agency, with their state,
// one page at a time (NoticesPage). With wait, an empty page is held until
// a notice arrives past the cursor (the FSM wakes the reader when it
// applies anything) or wait passes.
func (n *Node) handleNotices(w http.ResponseWriter, r *http.Request) {
	id, ok := n.require(w, r, pki.RoleExecute, pki.RoleAdmin, pki.RoleAudit)
	if !ok {
		return
	}
	q := r.URL.Query()
	agency := q.Get("agency")
	if agency == "" {
		agency = id.ID
	}
	if id.Role == pki.RoleExecute && agency != id.ID {
		writeErr(w, errorf(http.StatusForbidden, "agency %s may read only its own notices", id.ID))
		return
	}
	if err := schemas.CheckUSCC(agency); err != nil {
		writeErr(w, fieldErrorf("agency", "uscc", "agency: %v", err))
		return
	}
	states, perr := parseStates(q.Get("state"))
	if perr != nil {
		writeErr(w, perr)
		return
	}
	if p := q.Get("purpose"); p != "" {
		if perr := checkPurpose(p, ""); perr != nil {
			writeErr(w, perr)
			return
		}
	}
	fp, perr := parseFeedParams(r, feedNotices)
	if perr != nil {
		writeErr(w, perr)
		return
	}
	deadline := time.Now().Add(fp.wait)
	for {
		changed := n.sanctions.wait() // before reading: an apply after the read wakes us
		page, err := n.noticesPage(agency, fp.from[0], fp.limit, states, time.Now())
		if err != nil {
			n.readError(w, "notices for "+agency, err)
			return
		}
		if len(page.Notices) > 0 || page.More || !time.Now().Before(deadline) {
			// Notices addressed to responsible persons name them (keyed
			// hash): the read is logged before it is answered. Reading one's
			// notices has a known purpose, so none needs to be given.
			var persons []string
			for _, v := range page.Notices {
				if v.Notice != nil {
					persons = append(persons, disclose.Persons(v.Notice)...)
				}
			}
			purpose := q.Get("purpose")
			if purpose == "" {
				purpose = "sanction_notices"
			}
			if len(persons) > 0 && !n.logPersonsOrFail(w, r, id, "notices for "+agency, persons, purpose) {
				return
			}
			writeJSON(w, http.StatusOK, page)
			return
		}
		// Nothing past the cursor (or nothing matching the state filter):
		// the scanned positions are done, wait from where the page ended.
		if next, err := DecodeCursor(feedNotices, page.Next); err == nil {
			fp.from = next
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-changed:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// noticesPage reads, in one transaction, up to limit notices addressed to
// agency at feed positions (own-ledger indexes) from on, with their state at
// time at, keeping those whose state is in states (all if empty). A notice
// skipped by the state filter is passed over by the cursor like a returned
// one.
func (n *Node) noticesPage(agency string, from uint64, limit int, states []string, at time.Time) (NoticesPage, error) {
	page := NoticesPage{Notices: []NoticeView{}}
	next := from
	own := n.noticeOrigin() // loop.go: the feed runs over the log new notices go to
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		prefix := append([]byte(agency), 0)
		size := tx.Log(own).Size()
		b := tx.Bucket(bucketNotices)
		if b == nil {
			next = max(next, size)
			return nil
		}
		c := b.Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), entryKey(own, from)...))
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			origin, index, ok := splitEntryKey(k[len(prefix):])
			if !ok || origin != own {
				continue // only own notices are indexed (indexSanctions)
			}
			if len(page.Notices) == limit {
				page.More = true
				break
			}
			next = index + 1
			v, ok, err := n.noticeView(tx, origin, index, at)
			if err != nil {
				return err
			}
			if !ok || len(filterNotices([]NoticeView{v}, states)) == 0 {
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
	page.Next = EncodeCursor(feedNotices, next)
	return page, err
}
