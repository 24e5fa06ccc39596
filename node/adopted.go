package node

import (
	"net/http"
	"time"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/internal/adopted"
	"github.com/creditx/creditx/ledger"
	"github.com/creditx/creditx/sanctions"
	"github.com/creditx/creditx/sanctions/workdays"
	"github.com/creditx/creditx/schemas"
	"go.etcd.io/bbolt"
)

// Governance adopted on the ledger (issue 12): working-day calendar years
// and measures-catalogue versions. Package adopted owns the buckets and
// the rules; this file hands it the replica's engines, calendar cache and
// raft time, and serves GET /v1/calendar and GET /v1/catalogue.

// Wire types of this file's endpoints (package api).
type (
	CalendarState    = api.CalendarState
	AdoptedYear      = api.AdoptedYear
	DueCorrection    = api.DueCorrection
	CatalogueState   = api.CatalogueState
	AdoptedCatalogue = api.AdoptedCatalogue
	KnownCatalogue   = api.KnownCatalogue
	CatalogueRefusal = api.CatalogueRefusal
)

// The buckets package adopted owns, by the names the node's code uses.
const (
	bucketCalendars         = adopted.BucketCalendars
	bucketNoticeProvisional = adopted.BucketNoticeProvisional
	bucketNoticeDue         = adopted.BucketNoticeDue
	bucketCatalogues        = adopted.BucketCatalogues
	calendarYearPrefix      = adopted.CalendarYearPrefix
)

// calendarCache is the embedded calendar extended by the adopted years.
type calendarCache = adopted.CalendarCache

// calendar returns the embedded calendar extended by the years adopted in
// b (nil: none). The result is shared and immutable.
func (n *Node) calendar(b *bbolt.Bucket) (*workdays.Calendar, error) {
	return n.sanctions.cal.InForce(n.sanctions.engine.Calendar(), b)
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

// checkCalendarAdopt is admission's check of a calendar_adopt record: the
// year must extend the calendar in force and obey the calendar's rules.
func (n *Node) checkCalendarAdopt(a *schemas.CalendarAdopt) (field, msg string) {
	var cal *workdays.Calendar
	if err := n.fsm.view(func(tx *ledger.ReadTx) error { cal = n.viewCalendar(tx); return nil }); err != nil {
		n.logger.Error("admission could not read the adopted calendars", "err", err)
		return "record.calendar_adopt", "the calendar in force could not be read on this replica; nothing was written, retry"
	}
	return adopted.CheckCalendarYear(cal, a)
}

// deadlines is what the FSM applies calendar adoptions with, at the
// current entry's raft time.
func (n *Node) deadlines() adopted.Deadlines {
	return adopted.Deadlines{Cache: &n.sanctions.cal, Base: n.sanctions.engine.Calendar(), Engine: n.engineByVersion, Now: n.fsm.now}
}

// indexCalendarAdopt applies a calendar_adopt record (FSM, inside the
// apply transaction) and recomputes the provisional deadlines.
func (ix *indexer) indexCalendarAdopt(tx *ledger.Tx, origin string, index uint64, e []byte) error {
	return ix.node.deadlines().ApplyCalendarAdopt(tx, origin, index, e)
}

// indexProvisionalNotice lists an own notice issued with a provisional
// deadline (recomputed at once if the calendar in force covers it).
func (ix *indexer) indexProvisionalNotice(tx *ledger.Tx, ek []byte) error {
	return ix.node.deadlines().ListProvisional(tx, ek)
}

// effectiveNotice returns notice nt with the deadline in force (a copy when
// it was recomputed) and the correction, if any.
func effectiveNotice(tx *ledger.ReadTx, origin string, index uint64, nt *schemas.SanctionNotice) (*schemas.SanctionNotice, *DueCorrection) {
	return adopted.EffectiveNotice(tx, origin, index, nt)
}

// CalendarState reads the calendar in force. Unlike the views, which log
// an unreadable calendars bucket and count under the embedded calendar, it
// fails with the reason, so that GET /v1/calendar shows it.
func (n *Node) CalendarState() (st CalendarState, err error) {
	err = n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		st, err = adopted.CalendarStateIn(tx, &n.sanctions.cal, n.sanctions.engine.Calendar())
		return err
	})
	return st, err
}

// handleCalendar is GET /v1/calendar: the covered years, the adoptions
// applied and refused, and how many own notices still have a provisional
// deadline. Public: the calendar holds no personal data.
func (n *Node) handleCalendar(w http.ResponseWriter, r *http.Request) { serveState(w, n.CalendarState) }

// serveState answers a state view read by read, 500 if it fails.
func serveState[T any](w http.ResponseWriter, read func() (T, error)) {
	st, err := read()
	if err != nil {
		writeErr(w, errorf(http.StatusInternalServerError, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// catalogues are the catalogues this node knows (set by newSanctions).
func (n *Node) catalogues() adopted.Catalogues {
	return adopted.Catalogues{Initial: n.sanctions.engine, Set: n.sanctions.cats, Engines: n.sanctions.engines}
}

// engineIn is the sanctions engine of the catalogue in force in tx,
// counting under the calendar in force in tx.
func (n *Node) engineIn(tx *ledger.ReadTx) *sanctions.Engine {
	return n.engineOf(tx.Bucket(bucketCatalogues)).WithCalendar(n.viewCalendar(tx))
}

// engineOf returns the engine of the catalogue in force in b (the initial
// one without adoptions; nil without sanctions state). An unreadable bucket
// is logged and counts as the initial catalogue; CatalogueState reports it.
func (n *Node) engineOf(b *bbolt.Bucket) *sanctions.Engine {
	if n.sanctions == nil {
		return nil
	}
	eng, err := n.catalogues().InForce(b)
	if err != nil {
		n.logger.Error("adopted catalogues unreadable; using the initial catalogue", "err", err)
	}
	return eng
}

// engineByVersion is the engine of the catalogue of version v (the initial one if unknown).
func (n *Node) engineByVersion(v string) *sanctions.Engine { return n.catalogues().ByVersion(v) }

// queuedEngine is the engine to issue a queued listing's notices with.
func (n *Node) queuedEngine(v []byte) *sanctions.Engine { return n.catalogues().Queued(v) }

// queuedAt is the raft time a notice-queue value records.
func queuedAt(v []byte) time.Time { return adopted.QueuedAt(v) }

// queueValue is the notice-queue value of a listing indexed now under the
// catalogue in force in tx.
func (ix *indexer) queueValue(tx *ledger.Tx) ([]byte, error) {
	cb, err := tx.Bucket(bucketCatalogues)
	if err != nil {
		return nil, err
	}
	return adopted.QueueValue(ix.node.engineOf(cb), ix.node.fsm.now)
}

// indexCatalogueAdopt applies a catalogue_adopt record (FSM, inside the
// apply transaction).
func (ix *indexer) indexCatalogueAdopt(tx *ledger.Tx, origin string, index uint64, e []byte) error {
	return ix.node.catalogues().ApplyCatalogueAdopt(tx, origin, index, e, ix.node.fsm.now)
}

// checkCatalogueAdopt refuses a catalogue_adopt whose sha256 matches no
// catalogue this node knows, or names another version than that one's.
func (n *Node) checkCatalogueAdopt(a *schemas.CatalogueAdopt) (field, msg string) {
	return n.catalogues().Check(a)
}

// CatalogueState reads the catalogues known, adopted and in force. An
// unreadable bucket fails with the reason.
func (n *Node) CatalogueState() (st CatalogueState, err error) {
	err = n.fsm.view(func(tx *ledger.ReadTx) (err error) {
		st, err = n.catalogues().StateIn(tx)
		return err
	})
	return st, err
}

// handleCatalogue is GET /v1/catalogue. Public: catalogues hold no personal data.
func (n *Node) handleCatalogue(w http.ResponseWriter, r *http.Request) {
	serveState(w, n.CatalogueState)
}
