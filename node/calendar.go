package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// The working-day calendar as data on the ledger (issue 12).
//
// A calendar_adopt governance record (signed by an anchor key; admission
// refuses a year that does not extend the calendar in force, field
// calendar_adopt.year, or that breaks a calendar rule) adds one year to the
// embedded calendar (sanctions/workdays) from the index at which the FSM
// indexes it: in this region's own ledger or in a mirrored member's, so a
// year adopted by any member reaches every member that mirrors it. A
// mirrored adoption that does not fit (a gap, a year already covered) is
// recorded, not applied.
//
// Notices whose feedback deadline lay past the last covered year were
// issued with feedback_due_provisional; the FSM lists this member's own
// such notices in the notice-provisional bucket, and when a year is adopted
// it recomputes each of them (sanctions.Engine.RecomputeFeedbackDue, which
// reads only the notice, its listing, the catalogue and the calendar) in
// the same transaction, writing the correction to notice-due. Every replica
// applying the same raft log therefore records the same corrections at the
// same entry. Views (NoticeView, /audit, check) show the effective deadline
// and whether it is still provisional; the signed notice is never rewritten.
//
// Buckets (same ledger.db transaction as the entries; changing names or
// layout breaks existing data directories):
//
//	calendars:          "y" || 4-digit year -> JSON adoptedYear (applied adoptions)
//	                    "r" || origin 0x00 index -> JSON refusal (mirrored adoptions not applied)
//	notice-provisional: own notice entry key -> "" (deadline still provisional)
//	notice-due:         own notice entry key -> JSON DueCorrection (latest recomputation)
const (
	bucketCalendars          = "calendars"
	bucketNoticeProvisional  = "notice-provisional"
	bucketNoticeDue          = "notice-due"
	calendarYearPrefix       = 'y'
	calendarRefusalKeyPrefix = 'r'
)

// AdoptedYear is one calendar year adopted on the ledger, as applied.
type AdoptedYear struct {
	Year   schemas.CalendarAdopt `json:"calendar"`
	Origin string                `json:"origin"`
	Index  uint64                `json:"index"`
	Since  time.Time             `json:"since"` // raft time of the entry that adopted it
}

// DueCorrection is a feedback deadline recomputed after a calendar year was
// adopted: what the notice said, what it is now, under which notice.
type DueCorrection struct {
	Was         schemas.Date `json:"was"`
	Due         schemas.Date `json:"due"`
	Provisional bool         `json:"provisional"`
	Calendar    string       `json:"calendar"` // document number of the adopted year
	Year        uint64       `json:"year"`
	At          time.Time    `json:"at"` // raft time of the adoption
}

// calendarCache remembers the calendar built from the calendars bucket,
// keyed by the bucket's sequence (bumped at every applied adoption).
type calendarCache struct {
	mu  sync.Mutex
	seq uint64
	cal *workdays.Calendar
}

// calendar returns the embedded calendar extended by the years adopted in
// b (nil: none). The result is shared and immutable.
func (n *Node) calendar(b *bbolt.Bucket) (*workdays.Calendar, error) {
	base := n.sanctions.engine.Calendar()
	if b == nil {
		return base, nil
	}
	c := &n.sanctions.cal
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cal != nil && c.seq == b.Sequence() {
		return c.cal, nil
	}
	cal := base
	cur := b.Cursor()
	prefix := []byte{calendarYearPrefix}
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		var ay AdoptedYear
		if err := json.Unmarshal(v, &ay); err != nil {
			return nil, fmt.Errorf("calendars bucket %q: %w", k, err)
		}
		if int(ay.Year.Year) <= cal.Covered()[1] {
			continue // the build now embeds this year
		}
		ext, err := cal.Extend(sanctions.CalendarYear(&ay.Year))
		if err != nil {
			return nil, fmt.Errorf("adopted calendar %d: %w", ay.Year.Year, err)
		}
		cal = ext
	}
	c.seq, c.cal = b.Sequence(), cal
	return cal, nil
}

// viewCalendar is the calendar in force in a read transaction.
func (n *Node) viewCalendar(tx *ledger.ReadTx) *workdays.Calendar {
	cal, err := n.calendar(tx.Bucket(bucketCalendars))
	if err != nil {
		n.logger.Error("adopted calendars unreadable; using the embedded calendar", "err", err)
		return n.sanctions.engine.Calendar()
	}
	return cal
}

// CalendarAdoptRecord builds and signs (with admin's anchor key) the
// calendar_adopt governance record of year y for region.
func CalendarAdoptRecord(region string, admin *Credentials, y workdays.Year, now time.Time) ([]byte, error) {
	g := &schemas.Governance{
		Header:        schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Action:        schemas.ActionCalendarAdopt,
		CalendarAdopt: sanctions.CalendarAdoptOf(y),
	}
	return admin.Sign(g)
}

// checkCalendarAdopt is admission's check of a calendar_adopt record: the
// year must extend the calendar in force and obey the calendar's rules.
func (n *Node) checkCalendarAdopt(a *schemas.CalendarAdopt) (field, msg string) {
	y := sanctions.CalendarYear(a)
	var cal *workdays.Calendar
	if err := n.fsm.view(func(tx *ledger.ReadTx) error { cal = n.viewCalendar(tx); return nil }); err != nil {
		n.logger.Error("admission could not read the adopted calendars", "err", err)
		return "record.calendar_adopt", "the calendar in force could not be read on this replica; nothing was written, retry"
	}
	if _, err := cal.Extend(y); err != nil {
		var de *workdays.DataError
		if errors.As(err, &de) && de.Path != "" {
			return "record.calendar_adopt." + de.Path, de.Reason
		}
		return "record.calendar_adopt", err.Error()
	}
	return "", ""
}

// indexCalendarAdopt applies a calendar_adopt record indexed at ek (FSM,
// inside the apply transaction) and recomputes the provisional deadlines.
// Data problems are recorded in the calendars bucket, never returned.
func (ix *indexer) indexCalendarAdopt(tx *ledger.Tx, origin string, index uint64, e []byte) error {
	n := ix.node
	cb, err := tx.Bucket(bucketCalendars)
	if err != nil {
		return err
	}
	refuse := func(reason string) error {
		k := append([]byte{calendarRefusalKeyPrefix}, entryKey(origin, index)...)
		b, _ := json.Marshal(map[string]any{"origin": origin, "index": index, "reason": reason})
		return cb.Put(k, b)
	}
	g, ok := decodeRecord(e).(*schemas.Governance)
	if !ok || g.CalendarAdopt == nil {
		return refuse("not a calendar_adopt governance record")
	}
	cal, err := n.calendar(cb)
	if err != nil {
		return refuse(err.Error())
	}
	y := sanctions.CalendarYear(g.CalendarAdopt)
	ext, err := cal.Extend(y)
	if err != nil {
		return refuse(err.Error())
	}
	ay := AdoptedYear{Year: *g.CalendarAdopt, Origin: origin, Index: index, Since: n.fsm.now.UTC()}
	b, err := json.Marshal(ay)
	if err != nil {
		return err
	}
	if _, err := cb.NextSequence(); err != nil {
		return err
	}
	if err := cb.Put(append([]byte{calendarYearPrefix}, strconv.Itoa(y.Year)...), b); err != nil {
		return err
	}
	pb, err := tx.Bucket(bucketNoticeProvisional)
	if err != nil {
		return err
	}
	var keys [][]byte
	c := pb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := ix.recomputeDue(tx, k, ext, g.CalendarAdopt); err != nil {
			return err
		}
	}
	return nil
}

// recomputeDue recomputes the deadline of own notice k under cal and
// records it; a notice no longer provisional leaves notice-provisional.
func (ix *indexer) recomputeDue(tx *ledger.Tx, k []byte, cal *workdays.Calendar, by *schemas.CalendarAdopt) error {
	origin, index, ok := splitEntryKey(k)
	if !ok {
		return fmt.Errorf("corrupt notice-provisional key %x", k)
	}
	pb, err := tx.Bucket(bucketNoticeProvisional)
	if err != nil {
		return err
	}
	db, err := tx.Bucket(bucketNoticeDue)
	if err != nil {
		return err
	}
	read := func(origin string, index uint64) schemas.Record {
		e, err := tx.Log(origin).Entry(index)
		if err != nil {
			return nil
		}
		return decodeRecord(e)
	}
	nt, ok := read(origin, index).(*schemas.SanctionNotice)
	if !ok {
		return pb.Delete(k)
	}
	l, ok := read(nt.Listing.Origin, nt.Listing.Index).(*schemas.Listing)
	if !ok {
		return nil // the listing is not here (yet): stays provisional
	}
	// under the catalogue the notice cites (catalogue.go)
	due, prov, err := ix.node.engineByVersion(nt.Measure.CatalogueVersion).WithCalendar(cal).RecomputeFeedbackDue(l, nt)
	if err != nil {
		return nil // unknown programme in this build: stays provisional, as issued
	}
	dc := DueCorrection{Was: nt.FeedbackDue, Due: due, Provisional: prov, Calendar: by.Notice, Year: by.Year, At: ix.node.fsm.now.UTC()}
	b, err := json.Marshal(dc)
	if err != nil {
		return err
	}
	if err := db.Put(k, b); err != nil {
		return err
	}
	if !prov {
		return pb.Delete(k)
	}
	return nil
}

// indexProvisionalNotice lists an own notice issued with a provisional
// deadline; if the calendar in force already covers its deadline (a year
// adopted between issuing and applying), it is recomputed at once.
func (ix *indexer) indexProvisionalNotice(tx *ledger.Tx, ek []byte) error {
	pb, err := tx.Bucket(bucketNoticeProvisional)
	if err != nil {
		return err
	}
	if err := pb.Put(ek, nil); err != nil {
		return err
	}
	cb, err := tx.Bucket(bucketCalendars)
	if err != nil {
		return err
	}
	if cb.Sequence() == 0 {
		return nil
	}
	cal, err := ix.node.calendar(cb)
	if err != nil {
		return nil
	}
	// The last adopted year names the calendar the deadline is now under.
	c := cb.Cursor()
	k, v := c.Seek([]byte{calendarYearPrefix + 1})
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	var last AdoptedYear
	if k == nil || k[0] != calendarYearPrefix || json.Unmarshal(v, &last) != nil {
		return nil
	}
	return ix.recomputeDue(tx, ek, cal, &last.Year)
}

// noticeDue reads the effective deadline of own notice (origin, index).
func noticeDue(tx *ledger.ReadTx, origin string, index uint64) (DueCorrection, bool) {
	b := tx.Bucket(bucketNoticeDue)
	if b == nil {
		return DueCorrection{}, false
	}
	v := b.Get(entryKey(origin, index))
	if v == nil {
		return DueCorrection{}, false
	}
	var dc DueCorrection
	if json.Unmarshal(v, &dc) != nil {
		return DueCorrection{}, false
	}
	return dc, true
}

// CalendarState is what GET /v1/calendar and the status page show: the
// covered years, the adoptions applied and those refused.
type CalendarState struct {
	Covered     [2]int            `json:"covered"`
	Adopted     []AdoptedYear     `json:"adopted"`
	Refused     []json.RawMessage `json:"refused,omitempty"`
	Provisional int               `json:"provisional_notices"` // own notices whose deadline is still provisional
}

// CalendarState reads the calendar in force. Unlike the views, which log
// an unreadable calendars bucket and count under the embedded calendar, it
// fails with the reason, so that GET /v1/calendar shows it.
func (n *Node) CalendarState() (CalendarState, error) {
	var st CalendarState
	err := n.fsm.view(func(tx *ledger.ReadTx) error {
		cb := tx.Bucket(bucketCalendars)
		cal, err := n.calendar(cb)
		if err != nil {
			return fmt.Errorf("adopted calendars unreadable (views count with the embedded calendar meanwhile): %w", err)
		}
		st.Covered = cal.Covered()
		if cb != nil {
			c := cb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				switch k[0] {
				case calendarYearPrefix:
					var ay AdoptedYear
					if json.Unmarshal(v, &ay) == nil {
						st.Adopted = append(st.Adopted, ay)
					}
				case calendarRefusalKeyPrefix:
					st.Refused = append(st.Refused, json.RawMessage(slices.Clone(v)))
				}
			}
		}
		if pb := tx.Bucket(bucketNoticeProvisional); pb != nil {
			st.Provisional = pb.Stats().KeyN
		}
		return nil
	})
	return st, err
}

// effectiveNotice returns notice nt with the deadline in force (a copy when
// it was recomputed) and the correction, if any.
func effectiveNotice(tx *ledger.ReadTx, origin string, index uint64, nt *schemas.SanctionNotice) (*schemas.SanctionNotice, *DueCorrection) {
	if !nt.FeedbackDueProvisional {
		return nt, nil
	}
	dc, ok := noticeDue(tx, origin, index)
	if !ok {
		return nt, nil
	}
	c := *nt
	c.FeedbackDue, c.FeedbackDueProvisional = dc.Due, dc.Provisional
	return &c, &dc
}

// engineIn is the sanctions engine of the catalogue in force in tx
// (catalogue.go), counting under the calendar in force in tx.
func (n *Node) engineIn(tx *ledger.ReadTx) *sanctions.Engine {
	return n.engineOf(tx.Bucket(bucketCatalogues)).WithCalendar(n.viewCalendar(tx))
}

// handleCalendar is GET /v1/calendar: the covered years, the adoptions
// applied and refused, and how many own notices still have a provisional
// deadline. Public: the calendar holds no personal data.
func (n *Node) handleCalendar(w http.ResponseWriter, r *http.Request) {
	st, err := n.CalendarState()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}
