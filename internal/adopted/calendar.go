package adopted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/exchange"
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
// calendar_adopt.year, or that breaks a calendar rule: CheckCalendarYear)
// adds one year to the embedded calendar (sanctions/workdays) from the
// index at which the FSM indexes it: in this region's own ledger or in a
// mirrored member's, so a year adopted by any member reaches every member
// that mirrors it. A mirrored adoption that does not fit (a gap, a year
// already covered) is recorded, not applied.
//
// Notices whose feedback deadline lay past the last covered year were
// issued with feedback_due_provisional; the FSM lists this member's own
// such notices in the notice-provisional bucket (Deadlines.ListProvisional),
// and when a year is adopted it recomputes each of them
// (sanctions.Engine.RecomputeFeedbackDue, which reads only the notice, its
// listing, the catalogue and the calendar) in the same transaction, writing
// the correction to notice-due. Views (NoticeView, /audit, check) show the
// effective deadline and whether it is still provisional (EffectiveNotice).
//
// Buckets (same ledger.db transaction as the entries; changing names or
// layout breaks existing data directories):
//
//	calendars:          "y" || 4-digit year -> JSON api.AdoptedYear (applied adoptions)
//	                    "r" || origin 0x00 index -> JSON refusal (mirrored adoptions not applied)
//	notice-provisional: own notice entry key -> "" (deadline still provisional)
//	notice-due:         own notice entry key -> JSON api.DueCorrection (latest recomputation)
const (
	BucketCalendars          = "calendars"
	BucketNoticeProvisional  = "notice-provisional"
	BucketNoticeDue          = "notice-due"
	CalendarYearPrefix       = 'y'
	CalendarRefusalKeyPrefix = 'r'
)

// CalendarCache remembers the calendar built from the calendars bucket,
// keyed by the bucket's sequence (bumped at every applied adoption). The
// zero value is ready; safe for concurrent use.
type CalendarCache struct {
	mu  sync.Mutex
	seq uint64
	cal *workdays.Calendar
}

// InForce returns base (the embedded calendar) extended by the years
// adopted in b (nil: none). The result is shared and immutable. A value
// that does not decode, or a year that does not extend the calendar, is an
// error naming it.
func (c *CalendarCache) InForce(base *workdays.Calendar, b *bbolt.Bucket) (*workdays.Calendar, error) {
	if b == nil {
		return base, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cal != nil && c.seq == b.Sequence() {
		return c.cal, nil
	}
	cal := base
	cur := b.Cursor()
	prefix := []byte{CalendarYearPrefix}
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		var ay api.AdoptedYear
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

// CalendarAdoptRecord builds and signs (with admin's anchor key) the
// calendar_adopt governance record of year y for region.
func CalendarAdoptRecord(region string, admin *client.Credentials, y workdays.Year, now time.Time) ([]byte, error) {
	g := &schemas.Governance{
		Header:        schemas.Header{Region: region, Submitter: admin.Identity.ID, CreatedAt: schemas.NewTime(now)},
		Action:        schemas.ActionCalendarAdopt,
		CalendarAdopt: sanctions.CalendarAdoptOf(y),
	}
	return admin.Sign(g)
}

// CheckCalendarYear is admission's check of a calendar_adopt record
// against cal, the calendar in force: the year must extend it and obey the
// calendar's rules. It returns the field at fault and why ("" if none).
func CheckCalendarYear(cal *workdays.Calendar, a *schemas.CalendarAdopt) (field, msg string) {
	if _, err := cal.Extend(sanctions.CalendarYear(a)); err != nil {
		var de *workdays.DataError
		if errors.As(err, &de) && de.Path != "" {
			return "record.calendar_adopt." + de.Path, de.Reason
		}
		return "record.calendar_adopt", err.Error()
	}
	return "", ""
}

// Deadlines is what the FSM applies calendar adoptions and provisional
// deadlines with, for one entry.
type Deadlines struct {
	Cache *CalendarCache
	Base  *workdays.Calendar // the embedded calendar
	// Engine is the sanctions engine of the catalogue of a version, which
	// a notice cites (the initial catalogue's if unknown).
	Engine func(version string) *sanctions.Engine
	Now    time.Time // raft time of the entry
}

// ApplyCalendarAdopt applies entry e, a calendar_adopt record indexed at
// (origin, index), inside the apply transaction, and recomputes the
// provisional deadlines. Data problems are recorded in the calendars
// bucket, never returned.
func (d Deadlines) ApplyCalendarAdopt(tx *ledger.Tx, origin string, index uint64, e []byte) error {
	cb, err := tx.Bucket(BucketCalendars)
	if err != nil {
		return err
	}
	refuse := func(reason string) error {
		k := append([]byte{CalendarRefusalKeyPrefix}, exchange.EntryKey(origin, index)...)
		b, _ := json.Marshal(map[string]any{"origin": origin, "index": index, "reason": reason})
		return cb.Put(k, b)
	}
	g, ok := schemas.DecodeEntry(e).(*schemas.Governance)
	if !ok || g.CalendarAdopt == nil {
		return refuse("not a calendar_adopt governance record")
	}
	cal, err := d.Cache.InForce(d.Base, cb)
	if err != nil {
		return refuse(err.Error())
	}
	y := sanctions.CalendarYear(g.CalendarAdopt)
	ext, err := cal.Extend(y)
	if err != nil {
		return refuse(err.Error())
	}
	ay := api.AdoptedYear{Year: *g.CalendarAdopt, Origin: origin, Index: index, Since: d.Now.UTC()}
	b, err := json.Marshal(ay)
	if err != nil {
		return err
	}
	if _, err := cb.NextSequence(); err != nil {
		return err
	}
	if err := cb.Put(append([]byte{CalendarYearPrefix}, strconv.Itoa(y.Year)...), b); err != nil {
		return err
	}
	pb, err := tx.Bucket(BucketNoticeProvisional)
	if err != nil {
		return err
	}
	var keys [][]byte
	c := pb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := d.recomputeDue(tx, k, ext, g.CalendarAdopt); err != nil {
			return err
		}
	}
	return nil
}

// recomputeDue recomputes the deadline of own notice k under cal and
// records it; a notice no longer provisional leaves notice-provisional.
func (d Deadlines) recomputeDue(tx *ledger.Tx, k []byte, cal *workdays.Calendar, by *schemas.CalendarAdopt) error {
	origin, index, ok := exchange.SplitEntryKey(k)
	if !ok {
		return fmt.Errorf("corrupt notice-provisional key %x", k)
	}
	pb, err := tx.Bucket(BucketNoticeProvisional)
	if err != nil {
		return err
	}
	db, err := tx.Bucket(BucketNoticeDue)
	if err != nil {
		return err
	}
	read := func(origin string, index uint64) schemas.Record {
		e, err := tx.Log(origin).Entry(index)
		if err != nil {
			return nil
		}
		return schemas.DecodeEntry(e)
	}
	nt, ok := read(origin, index).(*schemas.SanctionNotice)
	if !ok {
		return pb.Delete(k)
	}
	l, ok := read(nt.Listing.Origin, nt.Listing.Index).(*schemas.Listing)
	if !ok {
		return nil // the listing is not here (yet): stays provisional
	}
	// under the catalogue the notice cites
	due, prov, err := d.Engine(nt.Measure.CatalogueVersion).WithCalendar(cal).RecomputeFeedbackDue(l, nt)
	if err != nil {
		return nil // unknown programme in this build: stays provisional, as issued
	}
	dc := api.DueCorrection{Was: nt.FeedbackDue, Due: due, Provisional: prov, Calendar: by.Notice, Year: by.Year, At: d.Now.UTC()}
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

// ListProvisional lists an own notice (entry key ek) issued with a
// provisional deadline; if the calendar in force already covers its
// deadline (a year adopted between issuing and applying), it is recomputed
// at once.
func (d Deadlines) ListProvisional(tx *ledger.Tx, ek []byte) error {
	pb, err := tx.Bucket(BucketNoticeProvisional)
	if err != nil {
		return err
	}
	if err := pb.Put(ek, nil); err != nil {
		return err
	}
	cb, err := tx.Bucket(BucketCalendars)
	if err != nil {
		return err
	}
	if cb.Sequence() == 0 {
		return nil
	}
	cal, err := d.Cache.InForce(d.Base, cb)
	if err != nil {
		return nil
	}
	// The last adopted year names the calendar the deadline is now under.
	c := cb.Cursor()
	k, v := c.Seek([]byte{CalendarYearPrefix + 1})
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	var last api.AdoptedYear
	if k == nil || k[0] != CalendarYearPrefix || json.Unmarshal(v, &last) != nil {
		return nil
	}
	return d.recomputeDue(tx, ek, cal, &last.Year)
}

// NoticeDue reads the effective deadline of own notice (origin, index).
func NoticeDue(tx *ledger.ReadTx, origin string, index uint64) (api.DueCorrection, bool) {
	b := tx.Bucket(BucketNoticeDue)
	if b == nil {
		return api.DueCorrection{}, false
	}
	v := b.Get(exchange.EntryKey(origin, index))
	if v == nil {
		return api.DueCorrection{}, false
	}
	var dc api.DueCorrection
	if json.Unmarshal(v, &dc) != nil {
		return api.DueCorrection{}, false
	}
	return dc, true
}

// CalendarStateIn reads the calendar in force in tx (base extended by the
// adopted years, through cache). Unlike the views, which log an unreadable
// calendars bucket and count under the embedded calendar, it fails with the
// reason, so that GET /v1/calendar shows it.
func CalendarStateIn(tx *ledger.ReadTx, cache *CalendarCache, base *workdays.Calendar) (api.CalendarState, error) {
	var st api.CalendarState
	cb := tx.Bucket(BucketCalendars)
	cal, err := cache.InForce(base, cb)
	if err != nil {
		return st, fmt.Errorf("adopted calendars unreadable (views count with the embedded calendar meanwhile): %w", err)
	}
	st.Covered = cal.Covered()
	if cb != nil {
		c := cb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			switch k[0] {
			case CalendarYearPrefix:
				var ay api.AdoptedYear
				if json.Unmarshal(v, &ay) == nil {
					st.Adopted = append(st.Adopted, ay)
				}
			case CalendarRefusalKeyPrefix:
				st.Refused = append(st.Refused, json.RawMessage(slices.Clone(v)))
			}
		}
	}
	if pb := tx.Bucket(BucketNoticeProvisional); pb != nil {
		st.Provisional = pb.Stats().KeyN
	}
	return st, nil
}

// EffectiveNotice returns notice nt (own, at origin#index) with the
// deadline in force (a copy when it was recomputed) and the correction, if
// any.
func EffectiveNotice(tx *ledger.ReadTx, origin string, index uint64, nt *schemas.SanctionNotice) (*schemas.SanctionNotice, *api.DueCorrection) {
	if !nt.FeedbackDueProvisional {
		return nt, nil
	}
	dc, ok := NoticeDue(tx, origin, index)
	if !ok {
		return nt, nil
	}
	c := *nt
	c.FeedbackDue, c.FeedbackDueProvisional = dc.Due, dc.Provisional
	return &c, &dc
}
